# mtk-applier: audit_policy
<#
.SYNOPSIS
    mt-eklient build applier: advanced audit policy by subcategory GUID, never by (localised) name.
.DESCRIPTION
    Settings: list of @{ guid = '{0cce9215-69ae-11d9-bed3-505054503030}'; setting = no_auditing|success|
    failure|success_and_failure }. Reads the current policy with "auditpol /backup" (its CSV has GUIDs
    and numeric settings in every language, read by column position) and sets only what differs.
    Idempotent; honours -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Settings = @()
)
$ErrorActionPreference = 'Stop'
$Numbers = @{ no_auditing = 0; success = 1; failure = 2; success_and_failure = 3 }
$Names = @{ 0 = 'no_auditing'; 1 = 'success'; 2 = 'failure'; 3 = 'success_and_failure' }

$backup = Join-Path $Ansible.Tmpdir 'audit.csv'
& auditpol.exe /backup "/file:$backup" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "auditpol /backup failed with exit code $LASTEXITCODE" }
# Columns by position: Windows translates the header ("Unterkategorie-GUID" on German Windows), so
# reading it by name finds nothing. The header line itself fails the GUID test below.
$current = @{}
$columns = 'machine', 'target', 'subcategory', 'guid', 'inclusion', 'exclusion', 'value'
foreach ($row in (Import-Csv -LiteralPath $backup -Header $columns)) {
    $guid = ([string]$row.guid).Trim().ToLowerInvariant()
    $value = ([string]$row.value).Trim()
    if ($guid -notmatch '^\{[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\}$' -or $value -notmatch '^\d+$') { continue }
    # System-wide rows win over per-user rows of the same subcategory.
    if ([string]$row.target -eq 'System' -or -not $current.ContainsKey($guid)) { $current[$guid] = [int]$value -band 3 }
}

$changed = $false
$before = [ordered]@{}
$after = [ordered]@{}
foreach ($item in $Settings) {
    $guid = ([string]$item.guid).ToLowerInvariant()
    $want = $Numbers[[string]$item.setting]
    if ($null -eq $want) { throw "unknown audit setting '$($item.setting)' for $guid" }
    $have = 0
    if ($current.ContainsKey($guid)) { $have = $current[$guid] }
    if ($have -eq $want) { continue }
    $changed = $true
    $before[$guid] = $Names[$have]
    $after[$guid] = $Names[$want]
    if ($PSCmdlet.ShouldProcess($guid, "audit $($Names[$want])")) {
        $success = if ($want -band 1) { 'enable' } else { 'disable' }
        $failure = if ($want -band 2) { 'enable' } else { 'disable' }
        & auditpol.exe /set "/subcategory:$guid" "/success:$success" "/failure:$failure" | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "auditpol /set $guid failed with exit code $LASTEXITCODE" }
    }
}

$Ansible.Changed = $changed
$Ansible.Diff = @{ before = $before; after = $after }
