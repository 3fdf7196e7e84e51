//! Stack states, pure: which are settled, which mean the deployment failed. Matched on the SDK's
//! `StackStatus`, so a state CloudFormation adds later falls to the documented suffix rule.

use aws_sdk_cloudformation::types::StackStatus;

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

/// Classifies a CloudFormation stack status.
pub(crate) fn classify(status: &StackStatus) -> Settled {
    use StackStatus as S;
    match status {
        S::CreateComplete | S::UpdateComplete | S::DeleteComplete | S::ImportComplete => Settled::Succeeded,
        S::CreateInProgress
        | S::DeleteInProgress
        | S::ImportInProgress
        | S::ImportRollbackInProgress
        | S::ReviewInProgress
        | S::RollbackInProgress
        | S::UpdateCompleteCleanupInProgress
        | S::UpdateInProgress
        | S::UpdateRollbackCompleteCleanupInProgress
        | S::UpdateRollbackInProgress => Settled::InProgress,
        // A state this SDK does not know yet: CloudFormation's naming says whether it moves.
        other if other.as_str().ends_with("_IN_PROGRESS") => Settled::InProgress,
        // ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE, *_FAILED, IMPORT_ROLLBACK_COMPLETE, ...
        _ => Settled::Failed,
    }
}

/// Whether an existing stack in this state can take an UPDATE change set.
pub(crate) fn updatable(status: &StackStatus) -> bool {
    !matches!(
        status,
        StackStatus::ReviewInProgress
            | StackStatus::RollbackComplete
            | StackStatus::RollbackFailed
            | StackStatus::DeleteComplete
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_stack_statuses() {
        let s = StackStatus::from;
        assert_eq!(classify(&s("CREATE_COMPLETE")), Settled::Succeeded);
        assert_eq!(classify(&s("UPDATE_COMPLETE")), Settled::Succeeded);
        assert_eq!(classify(&s("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")), Settled::InProgress);
        assert_eq!(classify(&s("CREATE_IN_PROGRESS")), Settled::InProgress);
        assert_eq!(classify(&s("ROLLBACK_IN_PROGRESS")), Settled::InProgress);
        assert_eq!(classify(&s("ROLLBACK_COMPLETE")), Settled::Failed);
        assert_eq!(classify(&s("UPDATE_ROLLBACK_COMPLETE")), Settled::Failed);
        assert_eq!(classify(&s("CREATE_FAILED")), Settled::Failed);
        assert_eq!(classify(&s("SOME_FUTURE_IN_PROGRESS")), Settled::InProgress, "unknown states by their suffix");
        assert_eq!(classify(&s("SOME_FUTURE_STATE")), Settled::Failed);
        assert!(!updatable(&s("ROLLBACK_COMPLETE")));
        assert!(updatable(&s("UPDATE_ROLLBACK_COMPLETE")));
    }
}
