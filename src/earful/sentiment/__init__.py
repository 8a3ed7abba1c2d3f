"""sentiment"""
