"""Repository tooling that only maintainers run: not part of the benchmark's product surface.

`doc_numbers` regenerates the numbers in the README and docs (the `docs` command);
`state_dict_keys` lists the keys a method's model has, for checkpoint and golden-fixture work
(`keys`, `check-checkpoint`). Nothing outside the maintainer commands and tests imports these.
"""
