# mtk-applier: audit_policy
<#
.SYNOPSIS
    mt-eklient build applier: advanced audit policy by subcategory GUID, never by (localised) name.
.DESCRIPTION
    Changes: list of @{ item = '{0cce9215-69ae-11d9-bed3-505054503030}'; before; after; setting =
    no_auditing|success|failure|success_and_failure }: one "auditpol /set /subcategory:{GUID}" each.
    The controller decided each change from the collector's facts (mt_eklient.changeset); nothing is
    read or compared here. The diff is the changes' before and after. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'
$Numbers = @{ no_auditing = 0; success = 1; failure = 2; success_and_failure = 3 }

$before = [ordered]@{}
$after = [ordered]@{}
foreach ($change in $Changes) {
    $guid = [string]$change.item
    $want = $Numbers[[string]$change.setting]
    if ($null -eq $want) { throw "unknown audit setting '$($change.setting)' for $guid" }
    $before[$guid] = $change.before
    $after[$guid] = $change.after
    if ($PSCmdlet.ShouldProcess($guid, "audit $($change.setting)")) {
        $success = if ($want -band 1) { 'enable' } else { 'disable' }
        $failure = if ($want -band 2) { 'enable' } else { 'disable' }
        & auditpol.exe /set "/subcategory:$guid" "/success:$success" "/failure:$failure" | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "auditpol /set $guid failed with exit code $LASTEXITCODE" }
    }
}

$Ansible.Changed = $Changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
