"""IFC (Hwang et al., NeurIPS 2021): Inter-Frame Communication Transformers for VIS."""
