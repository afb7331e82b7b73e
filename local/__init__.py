"""Local-only tooling: runs LabelChain's workflow offline (moto, in-process), never deployed."""
