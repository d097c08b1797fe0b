"""BURST's class-guided metric (HOTA, DetA, AssA and track AP over all/common/uncommon classes),
reimplemented from the behaviour of the official BURST toolkit; see docs/burst.md."""
