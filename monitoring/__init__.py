"""Monitoring: health, metrics and alerting."""
