"""Every field of an instance, as tests select it (the audit trail apart: only its app owner reads it)."""

INSTANCE_FIELDS = """
  id instanceGuid appId org dueBefore visibleAfter created createdBy lastChanged lastChangedBy
  instanceOwner { partyId personNumber organisationNumber username externalIdentifier }
  selfLinks { apps platform }
  process { started startEvent ended endEvent
    currentTask { flow started elementId name altinnTaskType ended flowType validated { timestamp canCompleteTask } } }
  status { isArchived isSoftDeleted isHardDeleted archived softDeleted hardDeleted readStatus
    substatus { label description messageBoxLabel } }
  completeConfirmations { stakeholderId confirmedOn }
  presentationTexts { key value } dataValues { key value }
  data { id instanceGuid dataType filename contentType blobStoragePath selfLinks { apps platform } size
    contentHash locked refs isRead tags created createdBy lastChanged lastChangedBy fileScanResult
    userDefinedMetadata { key value } metadata { key value } references { value relation valueType }
    deleteStatus { isHardDeleted hardDeleted } }
"""

EVENTS_FIELD = """
  events { id instanceId dataId created eventType instanceOwnerPartyId additionalInfo
    user { userId orgId authenticationLevel endUserSystemId nationalIdentityNumber systemUserId
      systemUserOwnerOrgNo systemUserName }
    processInfo { started startEvent ended endEvent currentTask { flow elementId } } }
"""
