"""Dialogs: encoder choice, import report, help and About."""
