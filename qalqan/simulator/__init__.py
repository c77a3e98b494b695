"""A seeded synthetic operator: subscribers, look-alikes and fraud, with ground truth."""
