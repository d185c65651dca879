"""The decision a publishing tool asks for: may this file be posted for this use?"""
