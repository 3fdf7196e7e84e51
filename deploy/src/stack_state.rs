//! Stack states, pure: which are settled, which mean the deployment failed.

/// Where a stack stands after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Still moving.
    InProgress,
    /// The change took effect.
    Succeeded,
    /// The change failed (and usually rolled back).
    Failed,
}

/// Classifies a CloudFormation stack status string.
pub(crate) fn classify(status: &str) -> Settled {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE" => Settled::Succeeded,
        s if s.ends_with("_IN_PROGRESS") => Settled::InProgress,
        // ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE, *_FAILED, IMPORT_ROLLBACK_COMPLETE, …
        _ => Settled::Failed,
    }
}

/// Whether an existing stack in this state can take an UPDATE change set.
pub(crate) fn updatable(status: &str) -> bool {
    !matches!(status, "REVIEW_IN_PROGRESS" | "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "DELETE_COMPLETE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_stack_statuses() {
        assert_eq!(classify("CREATE_COMPLETE"), Settled::Succeeded);
        assert_eq!(classify("UPDATE_COMPLETE"), Settled::Succeeded);
        assert_eq!(classify("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), Settled::InProgress);
        assert_eq!(classify("CREATE_IN_PROGRESS"), Settled::InProgress);
        assert_eq!(classify("ROLLBACK_IN_PROGRESS"), Settled::InProgress);
        assert_eq!(classify("ROLLBACK_COMPLETE"), Settled::Failed);
        assert_eq!(classify("UPDATE_ROLLBACK_COMPLETE"), Settled::Failed);
        assert_eq!(classify("CREATE_FAILED"), Settled::Failed);
        assert!(!updatable("ROLLBACK_COMPLETE"));
        assert!(updatable("UPDATE_ROLLBACK_COMPLETE"));
    }
}
