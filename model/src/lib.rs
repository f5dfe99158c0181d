//! opscope-model: the read model (filled in by the model move).
