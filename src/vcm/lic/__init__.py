"""A learned image codec (mean-scale hyperprior, variable rate) kept frozen for people, with
light per-task adapters so one bitstream serves several machine tasks; and the same idea on
HEVC as task post-filters."""
