# tests/unit/output.mk
