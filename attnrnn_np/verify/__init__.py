"""Tools for checking another AttentionRNN implementation against this one."""
