"""Integration hub: connect a CRM's events to finance, OA, e-signature, SMS, email and form systems."""

__version__ = "0.1.0"
