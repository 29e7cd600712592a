"""HTTP plumbing shared by every capability: auth, problem-details errors, request ids."""
