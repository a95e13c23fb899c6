"""The stats engine: parse → Query → plan → SQL → result, shared by every read path."""
