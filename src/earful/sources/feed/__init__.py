"""sources/feed"""
