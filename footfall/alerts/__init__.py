"""Alerting and email reports: rules on footfall's health and on each site's traffic.

`model` is the vocabulary, `evaluate` the pure evaluator (given `now`), `measure` reads the
figures a rule is judged by, `channels` sends, `delivery` retries, `reports` builds the email
reports from the stats engine, and `rounds` ties them to the metadata store for the background
job and the command line.
"""
