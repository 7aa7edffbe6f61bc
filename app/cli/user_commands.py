"""(pending)"""
