"""What is said and where it goes: the digest, its console and Slack forms, Slack delivery.

May import: ``balancewatch``, ``monitors.findings``, slack-sdk.
"""
