"""Mutation testing of the critical modules (issue 13, point 7): `make mutate`, docs/MUTATION.md."""
