"""Product and churn signals: extracted per turn and at close, stored, served, forwarded."""
