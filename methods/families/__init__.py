"""Method families: whole architectures that several methods share.

The floor between the parts (`methods/common/`: backbones, attention, position encodings, fast
paths) and the method packages (`methods/<name>/`: a method's declaration, its head, its linking,
its parity reader). A family imports parts and, where it builds on one, another family; it never
imports a method (import-linter contracts generated from these folders hold this:
`scripts/lint_imports.py`).

| family | architecture | methods on it |
|---|---|---|
| `seqformer/` | SeqFormer's deformable encoder, decoder and heads | seqformer, mssts, mssts-release |
| `mask2former/` | Mask2Former's pixel decoder, masked-attention decoder, objective | mask2former-vis, minvis, the DVIS++ segmenter |
| `dvis/` | DVIS++: the Mask2Former segmenter with a ReID branch, the referring tracker, the temporal refiner | dvis-plus-online, dvis-plus-offline, the DVIS-DAQ segmenter and refiner |
| `dvis_daq/` | DVIS-DAQ: the dynamic-anchor tracker with slot attention, its sequences and decisions, on the `dvis/` segmenter | dvis-daq-online, dvis-daq-offline |
| `eomt/` | EoMT, a plain ViT that segments: queries in its last blocks, class and mask heads | videomt |
"""
