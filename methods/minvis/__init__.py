"""MinVIS (Huang et al., NeurIPS 2022) re-implemented from the authors' code (NVlabs/MinVIS): the
first online member of the Mask2Former family, built on the shared parts in
methods/families/mask2former/; this package holds its frame linking, parity check and plugin."""
