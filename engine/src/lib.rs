//! opscope-engine: where the pipeline is assembled.
