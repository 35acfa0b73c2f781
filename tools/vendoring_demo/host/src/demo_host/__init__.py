"""A demo project that vendors tls_adapter, requests and urllib3 in ``demo_host._vendor``."""
