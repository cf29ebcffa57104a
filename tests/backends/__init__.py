"""Tests of ``arrayloss/_backends``, one file per library: its own kernels and derivative rules."""
