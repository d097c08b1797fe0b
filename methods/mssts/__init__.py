"""MS-STS: the released code (`mssts-release`) and the paper's design (`mssts`); see docs/methods/mssts.md."""
