"""Building mail, no I/O: the address and header policy (headers.py) and the MIME message (message.py).

Sending is the worker's business (workers/mailer.py, the SMTP transport).
"""
