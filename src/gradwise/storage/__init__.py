"""Files on disk: the one atomic writer every command and format uses, and the ``.npz`` +
JSON archive that model files and checkpoints are made of."""
