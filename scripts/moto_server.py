"""moto's server, with fixes that bring it closer to the real thing (its EC2 at fleet scale, and more).

Every test, the demo and the benchmark start moto through this file
(`.venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p PORT`), so they all see the same emulator.

1. Tag lookups in O(1). moto 5.2.5 reads one resource's tags by scanning every tag of every
   resource with regular expressions (`describe_tags(filters={"resource-id": [id]})`), which makes
   any tag filter over N snapshots cost N^2: 2,000 volumes with 6,000 snapshots took 750 s. The
   fix returns exactly what that scan returns (same dicts, same order), read from the tag store
   directly.
2. DescribeSnapshots, DescribeInstances and DescribeVolumes page like EC2 does. moto ignores MaxResults and NextToken for snapshots
   and answers with every match in one response; EC2 returns at most MaxResults (5 to 1,000) and a
   NextToken. Without this the client's pagination is never exercised against the emulator, and
   a 30,000-snapshot answer would be one 40 MB body.
3. CreateSnapshot refuses what EC2 refuses and leaves snapshots pending (`create_snapshot` below,
   each rule with the page that documents it). moto accepts any description and any tags and
   completes every snapshot at once, so a test against it could never see "not now" or a pending
   snapshot. The limits are on by default; the environment tunes the timed ones:
   - SNAPCYCLE_EMU_PENDING_SECONDS (default 2): how long a new snapshot stays `pending`. EC2 takes
     minutes; tests that need instant completion set 0 and say why.
   - SNAPCYCLE_EMU_VOLUME_INTERVAL_SECONDS (default 15): EC2's per-volume rate rule.
   - SNAPCYCLE_EMU_MAX_PENDING_PER_VOLUME (default 5): concurrent pending snapshots of one volume.
   Requests whose user agent names the app `snapcycle-seed` (the tests' own client, which seeds
   history that on EC2 would be days old) are exempt from the timed rules, never from the limits.
4. CloudFormation creates EventBridge Scheduler schedules (`AWS::Scheduler::Schedule`). moto
   implements the Scheduler API but its CloudFormation skips the type ("not supported"), so a
   stack with schedules in a time zone would deploy with none and nothing could read them back.
   `CfnSchedule` below follows the CloudFormation reference for the type: `Ref` is the schedule's
   Name, `GetAtt Arn` its ARN, a Name is generated when none is given, and an update replaces
   the schedule. The schedules only exist; as with rules, nothing fires them on the emulator.
5. A resource an update removes is forgotten. moto 5.2.5's `ResourceMap.update` deletes it but
   keeps its parsed model under the logical id, so a later update that adds the same logical id
   back (a deploy with `--tz`, then one without: the rule returns) finds the stale model and
   creates nothing. CloudFormation creates a resource added back like any new one ("Update
   behaviors of stack resources", AWS CloudFormation User Guide: a resource not in the current
   template is created).
6. EBS snapshot locks. moto 5.2.5 answers LockSnapshot and DescribeLockedSnapshots with "not
   implemented", so every run (which reads the account's locks) would fail on it, and no test
   could lock a snapshot. `lock_snapshot` and `describe_locked_snapshots` below follow the EC2 API
   Reference for LockSnapshot and DescribeLockedSnapshots and the Amazon EBS User Guide's "Snapshot
   lock concepts": a lock in `governance` or `compliance` mode for LockDuration days (1 to 36,500)
   or until ExpirationDate, one of the two; a compliance lock may have a CoolOffPeriod (1 to 72
   hours) during which its state is `compliance-cooloff`; a lock on a pending snapshot counts its
   duration from the moment the snapshot completes; a lock whose expiry has passed is `expired`
   (the snapshot may be deleted again); a governance lock, or a compliance lock in its cool-off
   period, may be changed, and a compliance lock past it only extended. DescribeLockedSnapshots
   takes SnapshotIds, the `lock-state` filter and pages like item 2 (MaxResults 5 to 1,000), and
   DeleteSnapshot refuses a snapshot whose lock is in force ("A locked snapshot can't be deleted").
   EC2's error code for that refusal is not documented anywhere we could find, so the emulator
   answers with a code of its own, `SnapcycleEmulator.SnapshotLocked`, that no client should
   match: snapcycle reads the locks before deleting and never relies on it.
7. CreateSnapshots (one crash-consistent set of an instance's volumes) is as strict as
   CreateSnapshot (`create_snapshots` below, each rule with the page that documents it, or marked
   an inference where EC2 documents no code). moto 5.2.5 ignores ExcludeDataVolumeIds and
   CopyTagsFromSource, applies no limit, completes the snapshots at once and answers items
   without a State. Here the set takes the instance's attached EBS volumes minus the root
   (ExcludeBootVolume) and the data volumes named in ExcludeDataVolumeIds (at most 40; the root
   volume, or an id that is not an attached data volume, is refused; so is a set left empty);
   CopyTagsFromSource=volume copies each volume's tags to its snapshot (the request's tags win on
   a shared key); the description and tag limits of item 3 apply to every snapshot, and so do the
   per-volume rate rule and pending limit, to every volume of the set. A set is all or nothing:
   one volume refused refuses the call and creates no snapshot. The snapshots stay `pending` for
   SNAPCYCLE_EMU_PENDING_SECONDS, and the answer's items carry State, StartTime, Progress,
   OwnerId, VolumeId, VolumeSize, Description, Encrypted and Tags, as EC2's SnapshotInfo does.
   The `snapcycle-seed` exemption of item 3 holds here too.
8. CopySnapshot is as strict as EC2 (`copy_snapshot` below, each rule with the page that documents
   it, or marked an inference). moto 5.2.5 completes a copy at once, ignores Encrypted, records any
   KmsKeyId as given, copies a pending source, applies no limit, gives the copy its source's volume
   id, and answers an unknown SourceRegion with a 500. Here the request goes to the destination
   Region's endpoint and the source must exist in SourceRegion, in the same partition, and be
   `completed`; at most SNAPCYCLE_EMU_MAX_COPIES_IN_FLIGHT (default 20, EC2's quota) copies may be
   pending per destination Region (ResourceLimitExceeded beyond); the copy is `pending` for
   SNAPCYCLE_EMU_PENDING_SECONDS (the `snapcycle-seed` exemption of item 3 holds); it is encrypted as
   EC2's encryption outcomes say (Encrypted=true, an encrypted source or encryption by default), with
   KmsKeyId or else the destination's `aws/ebs` or default key, recorded by ARN; KmsKeyId without
   Encrypted=true is refused; a key that is not a usable key of the destination is not refused (EC2
   checks it asynchronously) but the copy ends in `error` with StateMessage "Given key ID is not
   accessible"; the description and tag limits of item 3 apply, the copy's tags are the request's
   TagSpecifications only, and its VolumeId is EC2's arbitrary vol-ffffffff.
9. DescribeInstances filters by `block-device-mapping.volume-id` ("The volume ID of the EBS
   volume", EC2 API Reference, DescribeInstances, Filter.N): moto 5.2.5 does not implement it and
   answers a 500. Here an instance passes when one of its attached volumes is named.
"""

import os
import threading
import time

import copy
import datetime
import sys

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidParameterCombination,
    InvalidParameterValueError,
    InvalidSnapshotIdError,
    MissingParameterError,
)
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, generic_filter, get_prefix
from moto.ec2.responses.elastic_block_store import ElasticBlockStore
from moto.ec2.responses.instances import InstanceResponse
from moto.core.common_models import CloudFormationModel
from moto.scheduler.models import scheduler_backends
from moto.cloudformation.parsing import ResourceMap


def get_tags(self):
    if not self.id:
        return []
    tags = self.ec2_backend.tags.get(self.id)
    if not tags:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in tags.items()
    ]


def _start_after(token, items):
    """Where a page continues: after the item whose id NextToken names (EC2 refuses an unknown token)."""
    if not token:
        return 0
    ids = [item.id for item in items]
    if token not in ids:
        raise InvalidParameterValueError(f"NextToken={token}")
    return ids.index(token) + 1


def describe_snapshots(self):
    filters = self._filters_from_querystring()
    snapshot_ids = self._get_param("SnapshotIds", [])
    max_results = self._get_param("MaxResults")
    token = self._get_param("NextToken")
    if snapshot_ids or (max_results is None and token is None):
        snapshots = self.ec2_backend.describe_snapshots(snapshot_ids=snapshot_ids, filters=filters)
        return ActionResult({"Snapshots": snapshots})
    max_results = int(max_results) if max_results is not None else 1000
    if not 5 <= max_results <= 1000:
        raise InvalidParameterValueError(f"MaxResults={max_results} (5 to 1000)")
    everything = list(self.ec2_backend.snapshots.values())
    start = _start_after(token, everything)
    # Filter only as far as this page needs (one match beyond it says whether there is a next
    # page), so reading N snapshots in pages costs N filter checks rather than N per page.
    page, more, chunk = [], False, 500
    for at in range(start, len(everything), chunk):
        matched = generic_filter(filters, everything[at : at + chunk]) if filters else everything[at : at + chunk]
        room = max_results - len(page)
        page.extend(matched[:room])
        if len(matched) > room:
            more = True
            break
    next_token = page[-1].id if more and page else None
    return ActionResult({"Snapshots": page, "NextToken": next_token})


def describe_instances(self):
    if "InstanceId.1" in self.data or "MaxResults" not in self.data:
        return original_describe_instances(self)
    max_results = int(self._get_param("MaxResults"))
    if not 5 <= max_results <= 1000:
        raise InvalidParameterValueError(f"MaxResults={max_results} (5 to 1000)")
    token = self._get_param("NextToken")
    reservations = self.ec2_backend.describe_instances(filters=self._filters_from_querystring())
    pairs = [(r, i) for r in reservations for i in r.instances]
    start = _start_after(token, [i for _, i in pairs])
    chosen = pairs[start : start + max_results]
    page = []
    for r, i in chosen:
        if not page or page[-1][0] is not r:
            page.append((r, []))
        page[-1][1].append(i)
    out = []
    for r, instances in page:
        part = copy.copy(r)
        part.instances = instances
        out.append(part)
    next_token = chosen[-1][1].id if chosen and start + max_results < len(pairs) else None
    return ActionResult({"Reservations": out, "NextToken": next_token})


def describe_volumes(self):
    """DescribeVolumes pages as EC2 does (EC2 API Reference, DescribeVolumes: MaxResults 5 to 500,
    then NextToken); moto answers every match at once. snapcycle reads the volumes tagged
    `snapcycle:exclude` this way, and the benchmark counts those pages."""
    volume_ids = self._get_param("VolumeIds", [])
    max_results = self._get_param("MaxResults")
    token = self._get_param("NextToken")
    if volume_ids or (max_results is None and token is None):
        return original_describe_volumes(self)
    max_results = int(max_results) if max_results is not None else 500
    if not 5 <= max_results <= 500:
        raise InvalidParameterValueError(f"MaxResults={max_results} (5 to 500)")
    matched = self.ec2_backend.describe_volumes(volume_ids=None, filters=self._filters_from_querystring())
    start = _start_after(token, matched)
    page = matched[start : start + max_results]
    next_token = page[-1].id if page and start + max_results < len(matched) else None
    return ActionResult({"Volumes": page, "NextToken": next_token})


PENDING_SECONDS = float(os.environ.get("SNAPCYCLE_EMU_PENDING_SECONDS", "2"))
VOLUME_INTERVAL_SECONDS = float(os.environ.get("SNAPCYCLE_EMU_VOLUME_INTERVAL_SECONDS", "15"))
MAX_PENDING_PER_VOLUME = int(os.environ.get("SNAPCYCLE_EMU_MAX_PENDING_PER_VOLUME", "5"))
# EC2's tag restrictions ("Tag restrictions", Amazon EC2 User Guide, "Tag your Amazon EC2
# resources"): at most 50 tags per resource, keys up to 128 characters, values up to 256, and
# the `aws:` prefix reserved for AWS.
MAX_TAGS, MAX_KEY, MAX_VALUE = 50, 128, 256
# CreateSnapshot's Description (EC2 API Reference, CreateSnapshot): "up to 255 characters".
MAX_DESCRIPTION = 255
last_created = {}  # volume id -> time.monotonic() of its last snapshot


def _seeding(response):
    agent = f"{response.headers.get('User-Agent', '')} {response.headers.get('x-amz-user-agent', '')}"
    return "app/snapcycle-seed" in agent


def _status_get(self):
    status = self.__dict__.get("_status", "completed")
    if status != "completed":
        return status
    done = self.__dict__.get("_snapcycle_done_at")
    if done is not None and time.monotonic() < done:
        return "pending"
    # A copy whose KMS key turns out not to be usable ends in `error` once its pending time is over
    # (item 8, `copy_snapshot`).
    if self.__dict__.get("_snapcycle_copy_failure"):
        return "error"
    return status


def _state_message(self):
    """Snapshot.StateMessage (EC2 API Reference, Snapshot): "If a snapshot copy operation fails ...
    this field displays error state details"; only a failed copy (item 8) has one here."""
    failure = self.__dict__.get("_snapcycle_copy_failure")
    return failure if failure and self.status == "error" else None


def _status_set(self, value):
    self.__dict__["_status"] = value


def _progress(self):
    return "0%" if self.status == "pending" else "100%"


def _check_description_and_tags(description, tags):
    """What EC2 refuses in a new snapshot's Description and tags (CreateSnapshot and CreateSnapshots
    alike; the constants above name the pages)."""
    if len(description or "") > MAX_DESCRIPTION:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value for parameter Description is invalid: {len(description)} characters, at most {MAX_DESCRIPTION}",
        )
    if len(tags) > MAX_TAGS:
        raise EC2ClientError("TagLimitExceeded", f"The maximum number of Tags for a resource is {MAX_TAGS}.")
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise EC2ClientError("InvalidParameterValue", f"Tag keys starting with 'aws:' are reserved for internal use: {key}")
        if len(key) > MAX_KEY:
            raise EC2ClientError("InvalidParameterValue", f"Tag key exceeds the maximum length of {MAX_KEY} characters: {key}")
        if len(value or "") > MAX_VALUE:
            raise EC2ClientError("InvalidParameterValue", f"Tag value exceeds the maximum length of {MAX_VALUE} characters: {key}")


def _check_volume_rules(self, volume_ids, now, in_set=False):
    """EC2's timed per-volume rules, checked for every volume before anything is created. A set
    names the volume refused (EC2's own message names none: the emulator's addition)."""
    # A copy of the values: the server is threaded, and a deletion beside this creation would
    # change the dict's size mid-iteration (a 500 from the emulator, not from EC2).
    everything = list(self.ec2_backend.snapshots.values())
    wanted = set(volume_ids)
    pending = {}
    for s in everything:
        if s.volume.id in wanted and s.status == "pending":
            pending[s.volume.id] = pending.get(s.volume.id, 0) + 1
    for volume_id in volume_ids:
        which = f" Volume: {volume_id}." if in_set else ""
        # EC2 API Reference, "Error codes for the Amazon EC2 API": SnapshotCreationPerVolumeRateExceeded,
        # "Wait at least 15 seconds between concurrent volume snapshots".
        if now - last_created.get(volume_id, float("-inf")) < VOLUME_INTERVAL_SECONDS:
            raise EC2ClientError(
                "SnapshotCreationPerVolumeRateExceeded",
                "The rate limit for creating concurrent snapshots of an EBS volume has been exceeded. "
                "Wait at least 15 seconds between concurrent volume snapshots." + which,
            )
        # Same page: ConcurrentSnapshotLimitExceeded, the limit on concurrent snapshots of a volume.
        if pending.get(volume_id, 0) >= MAX_PENDING_PER_VOLUME:
            raise EC2ClientError(
                "ConcurrentSnapshotLimitExceeded",
                "You have reached the maximum number of concurrent snapshots for this volume." + which,
            )


# Checking the per-volume rules and creating the snapshots they allow is one step: the server is
# threaded, and two requests for one volume must not both pass the checks before either creates.
_creation_lock = threading.Lock()


def create_snapshot(self):
    volume_id = self._get_param("VolumeId")
    description = self._get_param("Description") or ""
    tags = self._parse_tag_specification().get("snapshot", {})
    _check_description_and_tags(description, tags)
    seeding = _seeding(self)
    with _creation_lock:
        now = time.monotonic()
        if not seeding and volume_id in self.ec2_backend.volumes:
            _check_volume_rules(self, [volume_id], now)
        response = original_create_snapshot(self)
        if not seeding:
            last_created[volume_id] = now
            response.result.__dict__["_snapcycle_done_at"] = now + PENDING_SECONDS
    return response


# CreateSnapshots (item 7). InstanceSpecification.ExcludeDataVolumeIds (EC2 API Reference,
# InstanceSpecification): "You can specify up to 40 volume IDs per request".
MAX_EXCLUDED_DATA_VOLUMES = 40
# CreateSnapshots' CopyTagsFromSource, "Valid Values: volume", and Location, "regional | local"
# (EC2 API Reference, CreateSnapshots).
COPY_TAGS_SOURCES = ("volume",)
SNAPSHOT_LOCATIONS = ("regional", "local")


def _snapshot_info(snapshot):
    """One item of CreateSnapshots' snapshotSet (EC2 API Reference, SnapshotInfo). moto hands its
    Snapshot objects to the serializer, which finds no `state` on them (moto keeps `status`) and
    leaves the item without one. This dict carries SnapshotInfo's fields for a regional snapshot,
    but SseType, which moto does not model (nor does its CreateSnapshot answer carry it)."""
    tags = dict(snapshot.ec2_backend.tags.get(snapshot.id) or {})
    return {
        "SnapshotId": snapshot.id,
        "VolumeId": snapshot.volume.id,
        "State": snapshot.status,
        "StartTime": snapshot.start_time,
        "Progress": snapshot.progress,
        "OwnerId": snapshot.owner_id,
        "VolumeSize": snapshot.volume.size,
        "Description": snapshot.description,
        "Encrypted": snapshot.encrypted,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def _snapshot_tag_specifications(self):
    """The request's TagSpecifications, every one of which must be for resource type `snapshot`
    (a specification for another type is refused, with the message moto uses elsewhere for it: code
    and message an inference), as a dict of the snapshot's tags."""
    for tag_spec in self._get_param("TagSpecification") or self._get_param("TagSpecifications") or []:
        if isinstance(tag_spec, dict) and tag_spec.get("ResourceType") not in (None, "snapshot"):
            raise EC2ClientError(
                "InvalidParameterValue",
                f"'{tag_spec['ResourceType']}' is not a valid taggable resource type for this operation.",
            )
    return self._parse_tag_specification().get("snapshot", {})


def create_snapshots(self):
    """CreateSnapshots: one crash-consistent set of the instance's attached EBS volumes, minus the
    root volume (ExcludeBootVolume) and the data volumes named in ExcludeDataVolumeIds (EC2 API
    Reference, CreateSnapshots and InstanceSpecification). moto ignores ExcludeDataVolumeIds and
    CopyTagsFromSource, applies no limit, completes the snapshots at once and answers items without
    a State; here the set obeys what CreateSnapshot obeys (item 3), volume by volume, and is all or
    nothing: one volume refused refuses the call and creates no snapshot. EC2 documents the set as
    one unit ("The snapshots are collectively managed ... if any one snapshot for the multi-volume
    snapshot set fails, all of the other snapshots display an error status", Amazon EC2 User Guide,
    "Create Amazon EBS snapshots", "Multi-volume snapshots"); that a refusal of one volume refuses
    the whole call up front, rather than leaving snapshots in `error`, is the emulator's inference."""
    spec = self._get_param("InstanceSpecification") or {}
    instance_id = spec.get("InstanceId")
    if not instance_id:
        # InstanceSpecification.InstanceId is "Required: Yes" (InstanceSpecification); MissingParameter
        # is EC2's common code for a missing required parameter ("Error codes for the Amazon EC2 API").
        raise MissingParameterError("InstanceSpecification.InstanceId")
    exclude_boot = str(spec.get("ExcludeBootVolume", False)).lower() == "true"
    excluded = spec.get("ExcludeDataVolumeIds") or spec.get("ExcludeDataVolumeId") or []
    if isinstance(excluded, str):
        excluded = [excluded]
    description = self._get_param("Description")
    copy_tags = self._get_param("CopyTagsFromSource")
    outpost_arn = self._get_param("OutpostArn")
    location = self._get_param("Location")
    # The codes of the refusals below are EC2's documented common codes, but which one EC2 answers
    # for each is not documented: InvalidParameterValue (a parameter's value is not valid, is
    # unsupported or cannot be used, "Error codes for the Amazon EC2 API") is an inference, as is
    # every message.
    if copy_tags is not None and copy_tags not in COPY_TAGS_SOURCES:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({copy_tags}) for parameter CopyTagsFromSource is invalid. Expected: 'volume'.",
        )
    if location is not None and location not in SNAPSHOT_LOCATIONS:
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ({location}) for parameter Location is invalid. Expected: regional | local."
        )
    # OutpostArn is "Only supported for instances on Outposts. If the source instance is not on an
    # Outpost, omit this parameter", and Location `local` is for an instance in a Local Zone
    # (CreateSnapshots): the emulator has neither, so both are refused (the code is an inference).
    if outpost_arn:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"The instance '{instance_id}' is not on an Outpost: omit OutpostArn ({outpost_arn}).",
        )
    if location == "local":
        raise EC2ClientError(
            "InvalidParameterValue", f"The instance '{instance_id}' is not in a Local Zone: Location local is not supported."
        )
    # TagSpecifications are "Tags to apply to every snapshot specified by the instance"
    # (CreateSnapshots): a specification for any other resource type is refused, with the message
    # moto uses elsewhere for it (code and message an inference).
    request_tags = _snapshot_tag_specifications(self)
    # The Description ("A description propagated to every snapshot specified by the instance") and
    # the tags become each snapshot's: CreateSnapshot's limits apply (item 3).
    _check_description_and_tags(description, request_tags)
    if len(excluded) > MAX_EXCLUDED_DATA_VOLUMES:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"ExcludeDataVolumeIds names {len(excluded)} volumes: at most {MAX_EXCLUDED_DATA_VOLUMES} per request.",
        )
    instance = self.ec2_backend.get_instance(instance_id)  # InvalidInstanceID.NotFound, as EC2
    # A terminated (or terminating) instance has no volumes left to take; EC2 documents no code for
    # it, IncorrectInstanceState (the instance's state does not allow the action, "Error codes for
    # the Amazon EC2 API") is an inference. Running and stopped instances are both accepted: "Create
    # Amazon EBS snapshots" only recommends stopping an instance before snapshotting its root volume.
    if instance.state in ("shutting-down", "terminated"):
        raise EC2ClientError(
            "IncorrectInstanceState", f"The instance '{instance_id}' is {instance.state}: its volumes cannot be snapshotted."
        )
    # The instance's attached EBS volumes in device order; its root volume is the one on its root
    # device name (moto's own rule for ExcludeBootVolume).
    attached = [(device, m.volume_id) for device, m in instance.get_block_device_mapping if m.volume_id]
    root = next((v for device, v in attached if device == instance.root_device_name), None)
    data = {v for device, v in attached if device != instance.root_device_name}
    for volume_id in excluded:
        # "The IDs of the data (non-root) volumes to exclude from the multi-volume snapshot set. If
        # you specify the ID of the root volume, the request fails. To exclude the root volume, use
        # ExcludeBootVolume" (InstanceSpecification). The code is an inference.
        if volume_id == root:
            raise EC2ClientError(
                "InvalidParameterValue",
                f"The volume '{volume_id}' is the root volume of instance '{instance_id}': it cannot be one of "
                "ExcludeDataVolumeIds; use ExcludeBootVolume to exclude the root volume.",
            )
        # An id that is not one of the instance's attached data volumes: EC2 documents nothing;
        # refusing it (rather than ignoring it) is an inference, and so is the code.
        if volume_id not in data:
            raise EC2ClientError(
                "InvalidParameterValue",
                f"The volume '{volume_id}' in ExcludeDataVolumeIds is not a data volume attached to instance '{instance_id}'.",
            )
    left_out = set(excluded)
    taken = [v for device, v in attached if not (v in left_out or (exclude_boot and v == root))]
    taken = list(dict.fromkeys(taken))
    if not taken:
        # "Each volume attached to the specified instance will produce one snapshot" (CreateSnapshots):
        # with none attached, or all excluded, there is no set to take. EC2 documents no answer for
        # it; refusing it with InvalidParameterValue is an inference.
        reason = "has no EBS volume attached" if not attached else "has no EBS volume left once the exclusions apply"
        raise EC2ClientError("InvalidParameterValue", f"The instance '{instance_id}' {reason}: there is nothing to snapshot.")
    # Each snapshot's tags: with CopyTagsFromSource=volume, "Copies the tags from the specified
    # volume to corresponding snapshot" (CreateSnapshots). That the request's tags win over a volume
    # tag of the same key, and that the volume's `aws:` tags (reserved for AWS) are not copied, are
    # inferences; the merged tags must still fit the limit of 50 per resource (item 3).
    per_volume_tags = {}
    for volume_id in taken:
        tags = {}
        if copy_tags == "volume":
            source = dict(self.ec2_backend.tags.get(volume_id) or {})
            tags.update({k: v for k, v in source.items() if not k.lower().startswith("aws:")})
        tags.update(request_tags)
        if len(tags) > MAX_TAGS:
            raise EC2ClientError(
                "TagLimitExceeded",
                f"The maximum number of Tags for a resource is {MAX_TAGS}: the snapshot of '{volume_id}' would have {len(tags)}.",
            )
        per_volume_tags[volume_id] = tags
    self.error_on_dryrun()
    seeding = _seeding(self)
    with _creation_lock:
        now = time.monotonic()
        if not seeding:
            # The per-volume rate rule and pending limit (item 3) hold for every volume of the set
            # (they are rules on a volume's snapshots, whichever call makes them): one volume
            # refused refuses the set before anything is created.
            _check_volume_rules(self, taken, now, in_set=True)
        snapshots = []
        try:
            for volume_id in taken:
                snapshot = self.ec2_backend.create_snapshot(volume_id, description)
                snapshots.append(snapshot)
                if per_volume_tags[volume_id]:
                    snapshot.add_tags(per_volume_tags[volume_id])
                if not seeding:
                    snapshot.__dict__["_snapcycle_done_at"] = now + PENDING_SECONDS
        except Exception:
            # All or nothing: a set that cannot be made whole leaves no snapshot behind.
            for snapshot in snapshots:
                self.ec2_backend.snapshots.pop(snapshot.id, None)
                self.ec2_backend.tags.pop(snapshot.id, None)
            raise
        if not seeding:
            for volume_id in taken:
                last_created[volume_id] = now
        # One point in time: the set's snapshots are "crash-consistent across the instance"
        # (CreateSnapshots), so they carry one StartTime (moto stamped each with its own clock).
        for snapshot in snapshots[1:]:
            snapshot.start_time = snapshots[0].start_time
    return ActionResult({"Snapshots": [_snapshot_info(s) for s in snapshots]})


# CopySnapshot (item 8). "There is a limit of 20 concurrent snapshot copy requests per destination.
# If you exceed this quota, you receive a ResourceLimitExceeded error" (Amazon EBS User Guide, "Copy an
# Amazon EBS snapshot", "Considerations for copying snapshots"; the same figure, not adjustable, is
# the "Concurrent snapshot copies per destination Region" quota of "Quotas for Amazon EBS").
MAX_COPIES_IN_FLIGHT = int(os.environ.get("SNAPCYCLE_EMU_MAX_COPIES_IN_FLIGHT", "20"))
# "Snapshots created by a snapshot copy operation have an arbitrary volume ID, such as vol-ffff or
# vol-ffffffff. These arbitrary volume IDs should not be used for any purpose" (same section).
COPY_VOLUME_ID = "vol-ffffffff"
# CopySnapshot's CompletionDurationMinutes (EC2 API Reference, CopySnapshot: "in 15 minute
# increments", at most 2880) and "Time-based copies" (Amazon EBS User Guide: "between 15 minutes and
# 48 hours").
COMPLETION_MINUTES = (15, 2880, 15)
# "if you attempt to copy an encrypted snapshot without having permissions to use the encryption key,
# the operation fails silently and the snapshot copy receives the "Given key ID is not accessible"
# status message" ("Copy an Amazon EBS snapshot", "Copy a snapshot").
KEY_NOT_ACCESSIBLE = "Given key ID is not accessible"


class _ArbitraryVolume:
    """What a copy's `volume` is: the arbitrary id EC2 gives every copy and the source's size (moto
    gave a copy the source's own volume, so a same-Region copy counted as a pending snapshot of that
    volume, and a `volume-id` filter found copies EC2 would never return)."""

    def __init__(self, size):
        self.id = COPY_VOLUME_ID
        self.size = size


def _is_true(value):
    return str(value).lower() == "true"


def _kms(backend):
    from moto.kms.models import kms_backends

    return kms_backends[backend.account_id][backend.region_name]


def _default_ebs_key(backend):
    """The key of the destination's encryption by default: the one ModifyEbsDefaultKmsKeyId set, else
    the AWS managed key `aws/ebs` (moto's own rule for CreateVolume, which creates that key on first use
    as AWS does)."""
    return backend.default_kms_key_id or backend._create_default_encryption_key()


def _aws_managed_ebs_key(backend):
    """The AWS managed key `aws/ebs` of the destination, whatever the default key is."""
    if not backend.default_kms_key_id:
        return backend._create_default_encryption_key()
    return _kms(backend).describe_key("alias/aws/ebs").arn


def _resolve_copy_key(backend, kms_key_id):
    """(the key's ARN, or the identifier as given, and why the copy will fail, or None). A snapshot's
    KmsKeyId is "The Amazon Resource Name (ARN) of the KMS key" (EC2 API Reference, Snapshot), so a
    key found is recorded by its ARN. A key must be one of the destination Region's: "The specified
    KMS key must exist in the Region that the snapshot is being copied to" (EC2 API Reference,
    ImportSnapshot, KmsKeyId; KMS keys are regional), and EBS "does not support asymmetric KMS keys"
    (same). EC2 checks the key only after answering: "Amazon Web Services authenticates the KMS key
    asynchronously. Therefore, if you specify an ID, alias, or ARN that is not valid, the action can
    appear to complete, but eventually fails" (CopySnapshot, KmsKeyId). That a disabled or asymmetric
    key, or one of another Region or account, fails the same way and with the same status message as a
    key without permissions is an inference."""
    if kms_key_id.startswith("arn:"):
        parts = kms_key_id.split(":")
        if len(parts) < 6 or parts[3] != backend.region_name or parts[4] != backend.account_id:
            return kms_key_id, KEY_NOT_ACCESSIBLE
    try:
        key = _kms(backend).describe_key(kms_key_id)
    except Exception:  # moto answers an unknown key id or alias with KeyError, NotFoundException or worse
        return kms_key_id, KEY_NOT_ACCESSIBLE
    if key.key_state != "Enabled" or key.key_spec != "SYMMETRIC_DEFAULT" or key.key_usage != "ENCRYPT_DECRYPT":
        return key.arn, KEY_NOT_ACCESSIBLE
    return key.arn, None


def copy_snapshot(self):
    """CopySnapshot, sent to the destination Region's endpoint ("The snapshot copy is sent to the
    regional endpoint that you sent the HTTP request to", EC2 API Reference, CopySnapshot; moto reads
    the Region from the request's credential scope). moto looks the source up and creates a completed
    copy with the source's volume, its encryption and any KmsKeyId as given; it ignores Encrypted, the
    source's state, the limit and every parameter's value, and an unknown SourceRegion is a 500. Here,
    each rule with the page that documents it, or marked an inference:
    - SourceRegion and SourceSnapshotId are required (CopySnapshot); the source must exist in
      SourceRegion (InvalidSnapshot.NotFound, as moto and EC2 answer an unknown snapshot) and be
      `completed`: "After you create a snapshot, and it has reached the completed state, you can create
      a copy of it" ("Copy an Amazon EBS snapshot"). EC2 documents no code for a source that is not
      completed: IncorrectState with CreateVolume's message for a pending snapshot ("Snapshot is in
      invalid state - pending", as EC2 answers it) is an inference.
    - A SourceRegion the emulator does not know, or one of another partition than the destination (a
      copy stays in its partition: the China Regions are a separate partition with their own
      accounts), is refused with InvalidParameterValue (an inference).
    - At most MAX_COPIES_IN_FLIGHT copies pending per destination Region; one more is refused with
      ResourceLimitExceeded ("Copy an Amazon EBS snapshot"; the message is the one EC2 answered when
      the limit was 5, "Too many snapshot copies in progress. The limit is 5 for this destination
      region.", with today's figure).
    - The copy is `pending` for SNAPCYCLE_EMU_PENDING_SECONDS, like a new snapshot (item 3), and the
      `snapcycle-seed` user agent is exempt from that timed rule, never from the limit.
    - Encryption ("Encryption outcomes for snapshot copies", same page; Encrypted and KmsKeyId,
      CopySnapshot): a copy of an encrypted source is encrypted ("Copies of encrypted snapshots are
      encrypted, even if you omit this parameter"); so is every copy when the destination has
      encryption by default, and a copy asked for with Encrypted=true. Its key is KmsKeyId when given;
      otherwise the destination's AWS managed key `aws/ebs` for an encrypted source without encryption
      by default, and the destination's key for encryption by default in every other case. "If
      KmsKeyId is specified, the encrypted state must be true": KmsKeyId without Encrypted=true is
      refused with InvalidParameterDependency, the code and message EC2 answers CreateVolume for the
      same rule ("The parameter [KmsKeyId] requires the parameter Encrypted to be set."; that
      CopySnapshot answers the same is an inference). "You cannot set this parameter to false": an
      Encrypted=false is taken as omitted (an inference: it cannot make a copy unencrypted).
    - A KmsKeyId that is not a usable key of the destination Region is not refused: EC2 authenticates
      the key asynchronously (`_resolve_copy_key`), so the copy is answered, stays pending, then ends in
      `error` with the StateMessage "Given key ID is not accessible".
    - Description and tags: item 3's limits (that a copy's Description has CreateSnapshot's limit of
      255 characters is an inference: CopySnapshot states none); TagSpecifications ("The tags to apply
      to the new snapshot", resource type `snapshot`) are the copy's only tags: "User-defined tags are
      not copied from the source snapshot to the snapshot copy" ("Copy an Amazon EBS snapshot").
    - The copy's VolumeId is the arbitrary vol-ffffffff and its VolumeSize the source's.
    - CompletionDurationMinutes (a time-based copy) must be a multiple of 15 from 15 to 2,880
      (CopySnapshot; "Time-based copies"); the code of a refusal is an inference. The copy records it and
      its TransferType (`time-based`, else `standard`; Snapshot). DestinationOutpostArn and
      DestinationAvailabilityZone are refused: the emulator has no Outposts nor Local Zones (as in item
      7; the code is an inference). PresignedUrl and DestinationRegion are "Deprecated" and ignored.
    - The answer carries SnapshotId and the copy's Tags (CopySnapshotResult). CopySnapshot takes no
      ClientToken (CopySnapshot's parameters), so nothing makes a retry idempotent: each call that is
      answered makes one more copy."""
    from moto.ec2.exceptions import InvalidParameterDependency
    from moto.ec2.models import ec2_backends
    from moto.ec2.utils import random_snapshot_id
    from moto.utilities.utils import get_partition

    source_id = self._get_param("SourceSnapshotId")
    source_region = self._get_param("SourceRegion")
    if not source_region:
        raise MissingParameterError("SourceRegion")
    if not source_id:
        raise MissingParameterError("SourceSnapshotId")
    description = self._get_param("Description")
    tags = _snapshot_tag_specifications(self)
    _check_description_and_tags(description, tags)
    wants_encryption = _is_true(self._get_param("Encrypted"))
    kms_key_id = self._get_param("KmsKeyId")
    if kms_key_id and not wants_encryption:
        raise InvalidParameterDependency("KmsKeyId", "Encrypted")
    minutes = self._get_param("CompletionDurationMinutes")
    if minutes is not None:
        low, high, step = COMPLETION_MINUTES
        try:
            minutes = int(minutes)
        except ValueError:
            raise InvalidParameterValueError(f"CompletionDurationMinutes={minutes}")
        if not (low <= minutes <= high and minutes % step == 0):
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Value ({minutes}) for parameter CompletionDurationMinutes is invalid: "
                f"a multiple of {step} from {low} to {high}.",
            )
    if self._get_param("DestinationOutpostArn"):
        raise EC2ClientError(
            "InvalidParameterValue", "The emulator has no Outpost: omit DestinationOutpostArn."
        )
    if self._get_param("DestinationAvailabilityZone"):
        raise EC2ClientError(
            "InvalidParameterValue", "The emulator has no Local Zone: omit DestinationAvailabilityZone."
        )
    destination = self.ec2_backend
    accounts = ec2_backends[destination.account_id]
    if source_region not in accounts or get_partition(source_region) != get_partition(destination.region_name):
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({source_region}) for parameter SourceRegion is invalid: not a Region this copy to "
            f"{destination.region_name} can come from.",
        )
    source = accounts[source_region].snapshots.get(source_id)
    if source is None:
        raise InvalidSnapshotIdError()
    if source.status != "completed":
        raise EC2ClientError("IncorrectState", f"Snapshot is in invalid state - {source.status}")
    encrypted = wants_encryption or source.encrypted or destination.ebs_encryption_by_default
    failure = None
    if not encrypted:
        key = None
    elif kms_key_id:
        key, failure = _resolve_copy_key(destination, kms_key_id)
    elif source.encrypted and not destination.ebs_encryption_by_default:
        key = _aws_managed_ebs_key(destination)
    else:
        key = _default_ebs_key(destination)
    self.error_on_dryrun()
    seeding = _seeding(self)
    with _creation_lock:
        now = time.monotonic()
        # A copy of the values: the server is threaded (item 7).
        in_flight = sum(
            1
            for s in list(destination.snapshots.values())
            if "_snapcycle_copy_of" in s.__dict__ and s.status == "pending"
        )
        if in_flight >= MAX_COPIES_IN_FLIGHT:
            raise EC2ClientError(
                "ResourceLimitExceeded",
                f"Too many snapshot copies in progress. The limit is {MAX_COPIES_IN_FLIGHT} for this destination region.",
            )
        snapshot_id = random_snapshot_id()
        copy_ = Snapshot(
            destination,
            snapshot_id,
            volume=_ArbitraryVolume(source.volume.size),
            description=description,
            encrypted=encrypted,
            kms_key_id=key,
        )
        copy_.__dict__["_snapcycle_copy_of"] = (source_region, source_id)
        copy_.transfer_type = "time-based" if minutes is not None else "standard"
        copy_.completion_duration_minutes = minutes
        if failure:
            copy_.__dict__["_snapcycle_copy_failure"] = failure
        if not seeding:
            copy_.__dict__["_snapcycle_done_at"] = now + PENDING_SECONDS
        destination.snapshots[snapshot_id] = copy_
        if tags:
            copy_.add_tags(tags)
    return ActionResult({"SnapshotId": snapshot_id, "Tags": copy_.tag_set})


# LockSnapshot's allowed values (EC2 API Reference, LockSnapshot): LockDuration "Min: 1, max
# 36500" days, CoolOffPeriod "Min 1, max 72" hours.
LOCK_DAYS = (1, 36500)
COOL_OFF_HOURS = (1, 72)
# DescribeLockedSnapshots' `lock-state` filter values (EC2 API Reference, DescribeLockedSnapshots).
LOCK_STATES = ("compliance-cooloff", "governance", "compliance", "expired")
# EC2 does not document the code DeleteSnapshot answers for a locked snapshot: this one is the
# emulator's own (item 6), so that no client comes to rely on a guess.
SNAPSHOT_LOCKED = "SnapcycleEmulator.SnapshotLocked"


def _completed_at(snapshot):
    """When the snapshot completed (naive UTC, as moto keeps times), or None while it is pending."""
    if snapshot.status != "completed":
        return None
    done = snapshot.__dict__.get("_snapcycle_done_at")
    if done is None:
        return snapshot.start_time
    return utcnow() - datetime.timedelta(seconds=max(0.0, time.monotonic() - done))


def _lock_view(snapshot, now=None):
    """The snapshot's lock as DescribeLockedSnapshots answers it (LockedSnapshotsInfo), or None."""
    lock = snapshot.__dict__.get("_snapcycle_lock")
    if lock is None:
        return None
    now = now or utcnow()
    view = {
        "OwnerId": snapshot.owner_id,
        "SnapshotId": snapshot.id,
        "LockCreatedOn": lock["created"],
    }
    expires = lock["expiration"]
    if lock["days"] is not None:
        view["LockDuration"] = lock["days"]
        # "If you lock a snapshot that is in the pending state, the lock duration starts only once
        # the snapshot enters the completed state" (LockedSnapshotsInfo, LockDurationStartTime).
        completed = _completed_at(snapshot)
        if completed is not None:
            start = max(lock["created"], completed)
            view["LockDurationStartTime"] = start
            expires = start + datetime.timedelta(days=lock["days"])
    if expires is not None:
        view["LockExpiresOn"] = expires
    if lock["cool_off_hours"] is not None:
        view["CoolOffPeriod"] = lock["cool_off_hours"]
        view["CoolOffPeriodExpiresOn"] = lock["cool_off_ends"]
    if expires is not None and now >= expires:
        view["LockState"] = "expired"
    elif lock["mode"] == "governance":
        view["LockState"] = "governance"
    elif lock["cool_off_ends"] is not None and now < lock["cool_off_ends"]:
        view["LockState"] = "compliance-cooloff"
    else:
        view["LockState"] = "compliance"
    return view


def _int_param(self, name, bounds):
    raw = self._get_param(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameterValueError(f"{name}={raw}")
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidParameterValueError(f"{name}={value} ({bounds[0]} to {bounds[1]})")
    return value


def lock_snapshot(self):
    """LockSnapshot (EC2 API Reference): lock a pending or completed snapshot, or change its lock."""
    snapshot_id = self._get_param("SnapshotId")
    if not snapshot_id:
        raise MissingParameterError("SnapshotId")
    mode = self._get_param("LockMode")
    if mode not in ("governance", "compliance"):
        raise InvalidParameterValueError(f"LockMode={mode} (governance or compliance)")
    days = _int_param(self, "LockDuration", LOCK_DAYS)
    cool_off = _int_param(self, "CoolOffPeriod", COOL_OFF_HOURS)
    raw_date = self._get_param("ExpirationDate")
    if days is not None and raw_date is not None:
        raise InvalidParameterCombination("Specify either LockDuration or ExpirationDate, not both.")
    if days is None and raw_date is None:
        raise MissingParameterError("LockDuration or ExpirationDate")
    if cool_off is not None and mode != "compliance":
        raise InvalidParameterCombination("CoolOffPeriod applies only to a lock in compliance mode.")
    now = utcnow()
    expiration = None
    if raw_date is not None:
        # moto parses the parameter by its shape (a timestamp); parse it when it has not.
        try:
            parsed = (
                raw_date
                if isinstance(raw_date, datetime.datetime)
                else datetime.datetime.fromisoformat(str(raw_date).replace("Z", "+00:00"))
            )
        except ValueError:
            raise InvalidParameterValueError(f"ExpirationDate={raw_date}")
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        if parsed <= now:
            raise InvalidParameterValueError(f"ExpirationDate={raw_date} (it must lie in the future)")
        expiration = parsed
    snapshot = self.ec2_backend.snapshots.get(snapshot_id)
    if snapshot is None:
        raise InvalidSnapshotIdError()
    # "You can lock a snapshot only if it is in the pending or completed state" (Amazon EBS User
    # Guide, snapshot lock considerations).
    if snapshot.status not in ("pending", "completed"):
        raise EC2ClientError("IncorrectState", f"The snapshot '{snapshot_id}' is in the {snapshot.status} state.")
    self.error_on_dryrun()
    current = _lock_view(snapshot, now)
    if current is not None and current["LockState"] == "compliance":
        # Past its cool-off a compliance lock "can only increase the lock duration or extend the
        # lock expiration date" (LockSnapshot).
        old_end = current.get("LockExpiresOn")
        new_end = expiration if expiration is not None else now + datetime.timedelta(days=days)
        if mode != "compliance" or cool_off is not None or (old_end is not None and new_end < old_end):
            raise EC2ClientError(
                SNAPSHOT_LOCKED,
                f"The snapshot '{snapshot_id}' is locked in compliance mode past its cooling-off period: "
                "its lock can only be extended (emulator code: EC2's is not documented).",
            )
        cool_off_ends = snapshot.__dict__["_snapcycle_lock"]["cool_off_ends"]
    else:
        cool_off_ends = now + datetime.timedelta(hours=cool_off) if cool_off is not None else None
    snapshot.__dict__["_snapcycle_lock"] = {
        "mode": mode,
        "created": now,
        "days": days,
        "expiration": expiration,
        "cool_off_hours": cool_off,
        "cool_off_ends": cool_off_ends,
    }
    view = _lock_view(snapshot, now)
    view.pop("OwnerId")
    return ActionResult(view)


def describe_locked_snapshots(self):
    """DescribeLockedSnapshots (EC2 API Reference): the locks of the named snapshots, or of all, by
    `lock-state`, in pages of MaxResults (5 to 1,000) like item 2."""
    snapshot_ids = self._get_param("SnapshotIds", [])
    filters = self._filters_from_querystring()
    for name in filters:
        if name != "lock-state":
            raise InvalidParameterValueError(f"Filter {name}")
    states = set(filters.get("lock-state", LOCK_STATES))
    max_results = self._get_param("MaxResults")
    token = self._get_param("NextToken")
    if max_results is not None:
        max_results = int(max_results)
        if not 5 <= max_results <= 1000:
            raise InvalidParameterValueError(f"MaxResults={max_results} (5 to 1000)")
    if snapshot_ids:
        missing = [i for i in snapshot_ids if i not in self.ec2_backend.snapshots]
        if missing:
            raise InvalidSnapshotIdError()
        candidates = [self.ec2_backend.snapshots[i] for i in snapshot_ids]
    else:
        candidates = list(self.ec2_backend.snapshots.values())
    now = utcnow()
    views = [v for v in (_lock_view(s, now) for s in candidates) if v is not None and v["LockState"] in states]
    if token:
        ids = [v["SnapshotId"] for v in views]
        if token not in ids:
            raise InvalidParameterValueError(f"NextToken={token}")
        views = views[ids.index(token) + 1 :]
    if max_results is None or len(views) <= max_results:
        return ActionResult({"Snapshots": views})
    page = views[:max_results]
    return ActionResult({"Snapshots": page, "NextToken": page[-1]["SnapshotId"]})


def delete_snapshot(self):
    """DeleteSnapshot refuses a snapshot whose lock is in force: "A locked snapshot can't be deleted"
    (LockSnapshot). The code is the emulator's own (item 6)."""
    snapshot_id = self._get_param("SnapshotId")
    snapshot = self.ec2_backend.snapshots.get(snapshot_id)
    lock = _lock_view(snapshot) if snapshot is not None else None
    if lock is not None and lock["LockState"] != "expired":
        raise EC2ClientError(
            SNAPSHOT_LOCKED,
            f"The snapshot '{snapshot_id}' is locked ({lock['LockState']}) and cannot be deleted "
            "(emulator code: EC2's is not documented).",
        )
    return original_delete_snapshot(self)


class CfnSchedule(CloudFormationModel):
    """An `AWS::Scheduler::Schedule` made by CloudFormation, kept in moto's Scheduler backend."""

    # moto files every model under the service named by its module (moto.<service>.models).
    __module__ = "moto.scheduler.snapcycle"

    def __init__(self, schedule):
        self.schedule = schedule

    @property
    def physical_resource_id(self):
        return self.schedule.name

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::Scheduler::Schedule"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return self.schedule.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=p.get("Description"),
            end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"],
            group_name=p.get("GroupName"),
            kms_key_arn=p.get("KmsKeyArn"),
            name=resource_name,
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State"),
            target=p["Target"],
            action_after_completion=None,
        )
        return cls(schedule)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id, region_name):
        scheduler_backends[account_id][region_name].delete_schedule(self.schedule.group_name, self.schedule.name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        group = cloudformation_json.get("Properties", {}).get("GroupName")
        scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)


def _delete_resource(self, parsed_resource, resource_json):
    original_delete_resource(self, parsed_resource, resource_json)
    # In an update, forget the model so that adding the logical id back creates the resource
    # again (a stack's deletion forgets it itself).
    if getattr(self, "_snapcycle_updating", False):
        for name, parsed in list(self._parsed_resources.items()):
            if parsed is parsed_resource:
                del self._parsed_resources[name]


def _update(self, template, parameters=None):
    self._snapcycle_updating = True
    try:
        return original_update(self, template, parameters)
    finally:
        self._snapcycle_updating = False


original_delete_resource = ResourceMap._delete_resource
ResourceMap._delete_resource = _delete_resource
original_update = ResourceMap.update
ResourceMap.update = _update
original_create_snapshot = ElasticBlockStore.create_snapshot
ElasticBlockStore.create_snapshot = create_snapshot
ElasticBlockStore.create_snapshots = create_snapshots
Snapshot.status = property(_status_get, _status_set)
Snapshot.progress = property(_progress)
Snapshot.state_message = property(_state_message)
ElasticBlockStore.copy_snapshot = copy_snapshot
original_describe_instances = InstanceResponse.describe_instances
InstanceResponse.describe_instances = describe_instances
TaggedEC2Resource.get_tags = get_tags
ElasticBlockStore.describe_snapshots = describe_snapshots
original_describe_volumes = ElasticBlockStore.describe_volumes
ElasticBlockStore.describe_volumes = describe_volumes
ElasticBlockStore.lock_snapshot = lock_snapshot
ElasticBlockStore.describe_locked_snapshots = describe_locked_snapshots
original_delete_snapshot = ElasticBlockStore.delete_snapshot
ElasticBlockStore.delete_snapshot = delete_snapshot

# Item 9: DescribeInstances' `block-device-mapping.volume-id` filter.
import moto.ec2.utils as _ec2_utils

original_passes_filter_dict = _ec2_utils.passes_filter_dict


def passes_filter_dict(instance, filter_dict):
    volumes = filter_dict.get("block-device-mapping.volume-id")
    if volumes is None:
        return original_passes_filter_dict(instance, filter_dict)
    attached = {device.volume_id for _, device in instance.get_block_device_mapping}
    rest = {k: v for k, v in filter_dict.items() if k != "block-device-mapping.volume-id"}
    return bool(attached & set(volumes)) and original_passes_filter_dict(instance, rest)


_ec2_utils.passes_filter_dict = passes_filter_dict

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
