//! A small, typed model of a CloudFormation template: values, intrinsic functions, parameters,
//! outputs and the resource table. It knows nothing about snapcycle; `crate::stack` builds on it.

use indexmap::IndexMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::resources::Resource;

/// The pseudo parameter that names the partition (`aws`, `aws-cn`, `aws-us-gov`) at deploy time.
pub const PARTITION: &str = "${AWS::Partition}";

/// A string-valued template expression: a literal or one of the intrinsic functions we use.
///
/// Properties that CloudFormation may compute at deploy time are typed `Expr`, so a literal and a
/// `Ref` are interchangeable where the template allows both. A `Ref` or `GetAtt` names a
/// [`Target`], which only a [`Handle`] (a resource or parameter added to a [`Template`]) or a
/// [`Pseudo`] parameter can make: a reference to a logical id that is not in the template does not
/// compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A literal string, rendered as-is.
    Literal(String),
    /// `{"Ref": id}`: a parameter's value, a resource's primary id, or a pseudo parameter.
    Ref(Target),
    /// `{"Fn::GetAtt": [id, attribute]}`: an attribute of a resource, such as its `Arn`.
    GetAtt(Target, String),
    /// `{"Fn::Sub": text}`: `${...}` placeholders replaced by parameters, pseudo parameters or
    /// attributes.
    Sub(String),
    /// `{"Fn::Join": [separator, parts]}`: parts concatenated with a separator.
    Join(String, Vec<Expr>),
}

impl Expr {
    /// A literal string.
    pub fn lit(text: impl Into<String>) -> Self {
        Self::Literal(text.into())
    }

    /// A `Ref` to a pseudo parameter, such as `AWS::AccountId`.
    pub fn pseudo(parameter: Pseudo) -> Self {
        Self::Ref(Target(parameter.name().to_owned()))
    }

    /// A `Fn::Sub` of `text`.
    pub fn sub(text: impl Into<String>) -> Self {
        Self::Sub(text.into())
    }

    /// An ARN in the deploy-time partition: `arn:${AWS::Partition}:` followed by `rest`, as a
    /// `Fn::Sub`. This is the only way the crate spells an ARN, so no template says `arn:aws:`.
    pub fn arn(rest: &str) -> Self {
        Self::Sub(format!("arn:{PARTITION}:{rest}"))
    }

    /// The literal `"*"`, for policy statements that must name every resource.
    pub fn any() -> Self {
        Self::lit("*")
    }
}

impl From<&str> for Expr {
    fn from(text: &str) -> Self {
        Self::lit(text)
    }
}

impl From<String> for Expr {
    fn from(text: String) -> Self {
        Self::Literal(text)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Literal(text) => serializer.serialize_str(text),
            Self::Ref(target) => single_entry(serializer, "Ref", &target.0),
            Self::GetAtt(target, attribute) => single_entry(serializer, "Fn::GetAtt", &[&target.0, attribute]),
            Self::Sub(text) => single_entry(serializer, "Fn::Sub", text),
            Self::Join(separator, parts) => single_entry(serializer, "Fn::Join", &JoinArgs { separator, parts }),
        }
    }
}

/// What a `Ref` or `GetAtt` names: a logical id of the template, or a pseudo parameter. The field
/// is private, so a target comes only from [`Handle`] or [`Expr::pseudo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target(String);

impl Target {
    /// The logical id (or pseudo parameter name) referred to.
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// The pseudo parameters the stack uses; CloudFormation defines them in every template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pseudo {
    /// `AWS::AccountId`.
    AccountId,
    /// `AWS::Region`.
    Region,
    /// `AWS::StackName`.
    StackName,
    /// `AWS::Partition` (`aws`, `aws-cn`, `aws-us-gov`).
    Partition,
}

impl Pseudo {
    /// The name CloudFormation knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::Partition => "AWS::Partition",
        }
    }
}

/// A resource or parameter that is in a template, returned by [`Template::add_resource`] and
/// [`Template::add_parameter`]: its `Ref` and `GetAtt` are the only way to refer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    /// The logical id.
    pub fn id(&self) -> &str {
        &self.0
    }

    /// `{"Ref": id}`: the parameter's value or the resource's primary id (a name, URL or ARN,
    /// as the resource type defines).
    pub fn reference(&self) -> Expr {
        Expr::Ref(Target(self.0.clone()))
    }

    /// `{"Fn::GetAtt": [id, attribute]}`.
    pub fn get_att(&self, attribute: &str) -> Expr {
        Expr::GetAtt(Target(self.0.clone()), attribute.to_owned())
    }

    /// The resource's `Arn` attribute.
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
}

impl Serialize for Handle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The `[separator, [parts...]]` argument list of `Fn::Join`.
struct JoinArgs<'a> {
    separator: &'a str,
    parts: &'a [Expr],
}

impl Serialize for JoinArgs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(self.separator)?;
        seq.serialize_element(self.parts)?;
        seq.end()
    }
}

fn single_entry<S: Serializer, V: Serialize + ?Sized>(serializer: S, key: &str, value: &V) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

/// A string-keyed map that serializes in insertion order, so rendering is deterministic and the
/// template reads in the order the stack is built (dependencies before dependants). An `IndexMap`
/// underneath; the wrapper exists for one rule: a key is never replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedMap<V> {
    entries: IndexMap<String, V>,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        Self { entries: IndexMap::new() }
    }
}

impl<V> OrderedMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key`; returns `false` and leaves the map unchanged if the key is already present,
    /// because a silently replaced logical id would drop a resource from the stack.
    #[must_use]
    pub fn insert(&mut self, key: impl Into<String>, value: V) -> bool {
        match self.entries.entry(key.into()) {
            indexmap::map::Entry::Occupied(_) => false,
            indexmap::map::Entry::Vacant(slot) => {
                slot.insert(value);
                true
            }
        }
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A template parameter: a value supplied when the stack is created or updated.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// The CloudFormation parameter type; snapcycle only uses `String`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// What the value is for, shown in the console and by `describe-stacks`.
    pub description: String,
    /// A regular expression the value must match, checked before any resource changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// The message CloudFormation shows when the value breaks a constraint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    /// The shortest value accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// The longest value accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

impl Parameter {
    /// A `String` parameter without default: the deployer must always pass a value.
    pub fn string(description: impl Into<String>) -> Self {
        Self {
            kind: "String".to_owned(),
            description: description.into(),
            allowed_pattern: None,
            constraint_description: None,
            min_length: None,
            max_length: None,
        }
    }
}

/// A stack output: a value the deploy command reads back after the stack settles.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// What the value is, for a person reading `describe-stacks`.
    pub description: String,
    /// The value itself.
    pub value: Expr,
}

/// What CloudFormation does with a resource's data when the resource is deleted or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeletionPolicy {
    /// Delete it with the resource (for a KMS key: schedule the key's deletion).
    Delete,
    /// Keep it, outside the stack.
    Retain,
}

/// One entry of the `Resources` table: the resource and how it is ordered and deleted.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDecl {
    /// The resource's type and properties.
    pub resource: Resource,
    /// Explicit `DependsOn`, for ordering that no `Ref` or `GetAtt` already implies.
    pub depends_on: Vec<Handle>,
    /// For stateful resources, the policy rendered as both `DeletionPolicy` and
    /// `UpdateReplacePolicy`, so what happens to their data is a visible decision.
    pub deletion_policy: Option<DeletionPolicy>,
    /// Static-analysis checks deliberately not applied to this resource, each with its reason,
    /// rendered as `Metadata.checkov.skip` so the reasoning travels with the template.
    pub skipped_checks: Vec<SkippedCheck>,
}

/// A security-scanner check that does not apply to a resource, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedCheck {
    /// The check's id, such as `CKV_AWS_117`.
    pub id: String,
    /// Why it does not apply, for the person reading the template or the scan.
    pub comment: String,
}

impl ResourceDecl {
    /// Sets the deletion (and update-replace) policy.
    #[must_use]
    pub fn with_deletion_policy(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    /// Records that the scanner check `id` does not apply, and why.
    #[must_use]
    pub fn skip_check(mut self, id: &str, reason: &str) -> Self {
        self.skipped_checks.push(SkippedCheck { id: id.to_owned(), comment: reason.to_owned() });
        self
    }
}

impl From<Resource> for ResourceDecl {
    fn from(resource: Resource) -> Self {
        Self { resource, depends_on: Vec::new(), deletion_policy: None, skipped_checks: Vec::new() }
    }
}

impl Serialize for ResourceDecl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Type", self.resource.type_name())?;
        if let Some(policy) = self.deletion_policy {
            map.serialize_entry("DeletionPolicy", &policy)?;
            map.serialize_entry("UpdateReplacePolicy", &policy)?;
        }
        map.serialize_entry("Properties", &self.resource)?;
        if !self.depends_on.is_empty() {
            map.serialize_entry("DependsOn", &self.depends_on)?;
        }
        if !self.skipped_checks.is_empty() {
            let skips = serde_json::json!({ "checkov": { "skip": &self.skipped_checks } });
            map.serialize_entry("Metadata", &skips)?;
        }
        map.end()
    }
}

/// A whole CloudFormation template.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Template {
    /// The template's `Description`.
    pub description: String,
    /// Values the deployer passes in, by name.
    pub parameters: OrderedMap<Parameter>,
    /// The resources, by logical id, in build order.
    pub resources: OrderedMap<ResourceDecl>,
    /// Values the stack reports back, by key.
    pub outputs: OrderedMap<Output>,
}

impl Template {
    /// Adds a resource and returns its handle; `None` when the logical id is taken (the table
    /// is left unchanged: a replaced id would drop a resource).
    #[must_use]
    pub fn add_resource(&mut self, id: impl Into<String>, decl: impl Into<ResourceDecl>) -> Option<Handle> {
        let id = id.into();
        self.resources.insert(id.clone(), decl.into()).then_some(Handle(id))
    }

    /// Adds a parameter and returns its handle; `None` when the name is taken.
    #[must_use]
    pub fn add_parameter(&mut self, id: impl Into<String>, parameter: Parameter) -> Option<Handle> {
        let id = id.into();
        self.parameters.insert(id.clone(), parameter).then_some(Handle(id))
    }
}

/// The only template format version CloudFormation has ever defined.
const FORMAT_VERSION: &str = "2010-09-09";

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("AWSTemplateFormatVersion", FORMAT_VERSION)?;
        map.serialize_entry("Description", &self.description)?;
        if !self.parameters.is_empty() {
            map.serialize_entry("Parameters", &self.parameters)?;
        }
        map.serialize_entry("Resources", &self.resources)?;
        if !self.outputs.is_empty() {
            map.serialize_entry("Outputs", &self.outputs)?;
        }
        map.end()
    }
}

/// Serializes a list as a bare value when it has exactly one element (`"Action": "sns:Publish"`)
/// and as an array otherwise, which is how people write IAM policies and how they read best.
pub(crate) fn one_or_many<S: Serializer, T: Serialize>(items: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    match items {
        [only] => only.serialize(serializer),
        many => many.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_render_as_cloudformation_expects() {
        assert_eq!(serde_json::to_value(Expr::lit("x")).unwrap(), json!("x"));
        let mut t = Template::default();
        let topic = t.add_resource(
            "T",
            Resource::Topic(crate::resources::Topic { display_name: "x".into(), kms_master_key_id: Expr::lit("k") }),
        );
        let topic = topic.expect("a new id");
        assert_eq!(serde_json::to_value(topic.reference()).unwrap(), json!({"Ref": "T"}));
        assert_eq!(serde_json::to_value(topic.arn()).unwrap(), json!({"Fn::GetAtt": ["T", "Arn"]}));
        assert_eq!(serde_json::to_value(Expr::pseudo(Pseudo::AccountId)).unwrap(), json!({"Ref": "AWS::AccountId"}));
        assert_eq!(
            serde_json::to_value(Expr::arn("sns:${AWS::Region}")).unwrap(),
            json!({"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}"})
        );
        assert_eq!(
            serde_json::to_value(Expr::Join(",".into(), vec![Expr::lit("a"), topic.reference()])).unwrap(),
            json!({"Fn::Join": [",", ["a", {"Ref": "T"}]]})
        );
    }

    #[test]
    fn a_taken_logical_id_gives_no_handle_and_keeps_the_first_resource() {
        let mut t = Template::default();
        let topic = |name: &str| {
            Resource::Topic(crate::resources::Topic { display_name: name.into(), kms_master_key_id: Expr::lit("k") })
        };
        assert!(t.add_resource("T", topic("first")).is_some());
        assert!(t.add_resource("T", topic("second")).is_none());
        assert_eq!(t.resources.len(), 1);
        assert_eq!(t.resources.get("T").map(|d| &d.resource), Some(&topic("first")));
    }

    #[test]
    fn ordered_map_keeps_insertion_order_and_refuses_duplicates() {
        let mut map = OrderedMap::new();
        assert!(map.insert("b", 1));
        assert!(map.insert("a", 2));
        assert!(!map.insert("b", 3));
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"b":1,"a":2}"#);
        assert_eq!(map.get("b"), Some(&1));
    }
}
