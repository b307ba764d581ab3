"""The Matches panel: similar items and the cross-modal list grid."""
