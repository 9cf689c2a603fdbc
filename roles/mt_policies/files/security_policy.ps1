# mtk-applier: security_policy
<#
.SYNOPSIS
    mt-eklient build applier: local security policy (secedit) in ONE configure run.
.DESCRIPTION
    Changes: list of @{ item = '[System Access] MinimumPasswordLength'; before; after; section =
    'System Access'; key = 'MinimumPasswordLength'; value = 14 }. Lists are written comma-joined (SIDs
    with '*'). All changes go into one template, so dependent settings (lockout duration and reset
    counter) are applied together. The controller decided each change from the collector's facts
    (mt_eklient.changeset); nothing is read or compared here. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'

function Format-MtkValue($Value) {
    if ($Value -is [bool]) { return [string][int]$Value }
    if ($Value -is [array] -or $Value -is [System.Collections.IList]) { return (@($Value | ForEach-Object { [string]$_ }) -join ',') }
    [string]$Value
}

$sections = [ordered]@{}
$before = [ordered]@{}
$after = [ordered]@{}
foreach ($change in $Changes) {
    $section = [string]$change.section
    if (-not $sections.Contains($section)) { $sections[$section] = @() }
    $sections[$section] += '{0} = {1}' -f $change.key, (Format-MtkValue $change.value)
    $before[[string]$change.item] = $change.before
    $after[[string]$change.item] = $change.after
}

if ($Changes.Count -and $PSCmdlet.ShouldProcess(($after.Keys -join ', '), 'secedit /configure')) {
    $template = Join-Path $Ansible.Tmpdir 'wanted.inf'
    $lines = @('[Unicode]', 'Unicode=yes', '[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    foreach ($section in $sections.Keys) { $lines += "[$section]"; $lines += $sections[$section] }
    Set-Content -LiteralPath $template -Value $lines -Encoding Unicode
    $database = Join-Path $Ansible.Tmpdir 'wanted.sdb'
    & secedit.exe /configure /db $database /cfg $template /quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed with exit code $LASTEXITCODE" }
}

$Ansible.Changed = $Changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
