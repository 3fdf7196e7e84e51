//! IAM policy documents as types: the execution role's permissions, the trust policy, and the
//! resource policies on the key, topic and queue are all built from these.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::cfn::{one_or_many, Expr};

/// The only current policy language version; older versions lack policy variables.
const POLICY_VERSION: &str = "2012-10-17";

/// A policy document: a list of statements evaluated together.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PolicyDocument {
    /// The statements, in the order they are rendered.
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    /// A document holding `statements`.
    pub fn new(statements: Vec<Statement>) -> Self {
        Self { statements }
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Version", POLICY_VERSION)?;
        map.serialize_entry("Statement", &self.statements)?;
        map.end()
    }
}

/// Whether a statement grants or refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Refuses the actions, overriding any grant.
    Deny,
}

/// Who a resource policy or trust policy applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An AWS service principal such as `lambda.amazonaws.com`.
    Service(String),
    /// An IAM principal by ARN, such as the account root.
    Aws(Expr),
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Service(name) => map.serialize_entry("Service", name)?,
            Self::Aws(arn) => map.serialize_entry("AWS", arn)?,
        }
        map.end()
    }
}

/// A condition operator (the outer key of a `Condition` block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Operator {
    /// Exact, case-sensitive string match against any of the values.
    StringEquals,
    /// Exact ARN match against any of the values.
    ArnEquals,
    /// ARN match with `*` and `?` wildcards against any of the values.
    ArnLike,
    /// `"false"`: the key must be present in the request; `"true"`: it must be absent.
    Null,
    /// A boolean key must have the value, such as `kms:GrantIsForAWSResource: true`.
    Bool,
}

/// One `operator: {key: values}` test; all clauses of a statement must hold together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// How the key is compared.
    pub operator: Operator,
    /// The condition key, such as `aws:RequestTag/snapcycle:keyword`.
    pub key: String,
    /// The accepted values; the clause holds if the key matches any of them.
    pub values: Vec<Expr>,
}

/// The `Condition` block of a statement: clauses that must all hold.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Condition {
    clauses: Vec<Clause>,
}

impl Condition {
    /// A condition with no clauses (rendered as no `Condition` at all).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the clause `operator: {key: values}`.
    ///
    /// # Panics
    ///
    /// If the same operator and key were already added: JSON would keep only one of them, and
    /// merging the value lists would turn "and" into "or", so this is a bug in the caller.
    #[must_use]
    pub fn with(mut self, operator: Operator, key: impl Into<String>, values: Vec<Expr>) -> Self {
        let key = key.into();
        assert!(
            !self.clauses.iter().any(|c| c.operator == operator && c.key == key),
            "condition {operator:?} on {key} added twice"
        );
        self.clauses.push(Clause { operator, key, values });
        self
    }

    /// The clauses in the order they were added.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether there are no clauses.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Group by operator in order of first appearance; keys keep their order within a group.
        let mut operators: Vec<Operator> = Vec::new();
        for clause in &self.clauses {
            if !operators.contains(&clause.operator) {
                operators.push(clause.operator);
            }
        }
        let mut map = serializer.serialize_map(Some(operators.len()))?;
        for operator in operators {
            let group: Vec<&Clause> = self.clauses.iter().filter(|c| c.operator == operator).collect();
            map.serialize_entry(&operator, &ClauseGroup(&group))?;
        }
        map.end()
    }
}

/// The `{key: values, ...}` object under one operator.
struct ClauseGroup<'a>(&'a [&'a Clause]);

impl Serialize for ClauseGroup<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for clause in self.0 {
            map.serialize_entry(&clause.key, &OneOrMany(&clause.values))?;
        }
        map.end()
    }
}

/// Adapter that renders a one-element list as its element.
struct OneOrMany<'a, T>(&'a [T]);

impl<T: Serialize> Serialize for OneOrMany<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        one_or_many(self.0, serializer)
    }
}

/// One policy statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// An alphanumeric label that says what the statement is for (shown in IAM's policy views).
    pub sid: Option<String>,
    /// Grant or refusal.
    pub effect: Effect,
    /// Who it applies to; only in resource and trust policies, never in identity policies.
    pub principal: Option<Principal>,
    /// The actions, such as `ec2:DeleteSnapshot`.
    pub actions: Vec<String>,
    /// The resources the actions apply to (`"*"` only where the action has no resource type).
    pub resources: Vec<Expr>,
    /// Clauses that must all hold for the statement to apply.
    pub condition: Condition,
}

impl Statement {
    /// An `Allow` of `actions` with no resource yet; add them with [`Statement::on`].
    pub fn allow<A: Into<String>>(actions: impl IntoIterator<Item = A>) -> Self {
        Self {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            actions: actions.into_iter().map(Into::into).collect(),
            resources: Vec::new(),
            condition: Condition::new(),
        }
    }

    /// Sets the statement id.
    #[must_use]
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Sets the principal (resource and trust policies only).
    #[must_use]
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Sets the resources.
    #[must_use]
    pub fn on(mut self, resources: Vec<Expr>) -> Self {
        self.resources = resources;
        self
    }

    /// Sets the condition.
    #[must_use]
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(sid) = &self.sid {
            map.serialize_entry("Sid", sid)?;
        }
        map.serialize_entry("Effect", &self.effect)?;
        if let Some(principal) = &self.principal {
            map.serialize_entry("Principal", principal)?;
        }
        map.serialize_entry("Action", &OneOrMany(&self.actions))?;
        if !self.resources.is_empty() {
            map.serialize_entry("Resource", &OneOrMany(&self.resources))?;
        }
        if !self.condition.is_empty() {
            map.serialize_entry("Condition", &self.condition)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statement_renders_single_values_bare_and_groups_conditions_by_operator() {
        let statement = Statement::allow(["ec2:DeleteSnapshot"])
            .sid("DeleteDaily")
            .on(vec![Expr::arn("ec2:${AWS::Region}::snapshot/*")])
            .when(
                Condition::new()
                    .with(Operator::StringEquals, "ec2:ResourceTag/snapcycle:keyword", vec!["D".into()])
                    .with(Operator::Null, "ec2:ResourceTag/D", vec!["false".into()]),
            );
        assert_eq!(
            serde_json::to_value(&statement).unwrap(),
            json!({
                "Sid": "DeleteDaily",
                "Effect": "Allow",
                "Action": "ec2:DeleteSnapshot",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"},
                "Condition": {
                    "StringEquals": {"ec2:ResourceTag/snapcycle:keyword": "D"},
                    "Null": {"ec2:ResourceTag/D": "false"}
                }
            })
        );
    }

    #[test]
    #[should_panic(expected = "added twice")]
    fn the_same_condition_key_twice_is_a_bug() {
        let _ = Condition::new().with(Operator::StringEquals, "k", vec!["a".into()]).with(
            Operator::StringEquals,
            "k",
            vec!["b".into()],
        );
    }
}
