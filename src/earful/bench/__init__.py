"""``earful bench``: generated, realistic workloads measured side by side; figures as JSON."""
