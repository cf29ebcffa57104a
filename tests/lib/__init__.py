"""Tests of ``arrayloss/_lib``, one file per module: its generic behaviour on every backend."""
