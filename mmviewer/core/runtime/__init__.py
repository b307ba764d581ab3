"""Process-wide machinery below everything else: cancellation, helper processes, thread limits."""
