# mtk-applier: security_policy
<#
.SYNOPSIS
    mt-eklient build applier: local security policy (secedit) in ONE configure run.
.DESCRIPTION
    Settings: @{ 'System Access' = @{ MinimumPasswordLength = 14 }; 'Privilege Rights' =
    @{ SeDenyNetworkLogonRight = @('*S-1-5-32-546') } }. Lists are written comma-joined (SIDs with '*').
    All differing keys go into one template, so dependent settings (lockout duration and reset
    counter) are applied together. Idempotent; honours -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [System.Collections.IDictionary]$Settings = @{}
)
$ErrorActionPreference = 'Stop'

function Format-MtkValue($Value) {
    if ($Value -is [bool]) { return [string][int]$Value }
    if ($Value -is [array] -or $Value -is [System.Collections.IList]) { return (@($Value | ForEach-Object { [string]$_ }) -join ',') }
    [string]$Value
}

$export = Join-Path $Ansible.Tmpdir 'current.inf'
& secedit.exe /export /cfg $export /quiet | Out-Null
if ($LASTEXITCODE -ne 0) { throw "secedit /export failed with exit code $LASTEXITCODE" }
$current = @{}
$section = ''
foreach ($line in (Get-Content -LiteralPath $export -Encoding Unicode)) {
    if ($line -match '^\[(.+)\]$') { $section = $Matches[1]; $current[$section] = @{}; continue }
    if ($section -and $line -match '^\s*([^=]+?)\s*=\s*(.*)$') { $current[$section][$Matches[1]] = $Matches[2].Trim() }
}

$changes = [ordered]@{}
$before = [ordered]@{}
$after = [ordered]@{}
foreach ($name in $Settings.Keys) {
    foreach ($key in $Settings[$name].Keys) {
        $want = Format-MtkValue $Settings[$name][$key]
        $have = $null
        if ($current.ContainsKey($name)) { $have = $current[$name][$key] }
        $sortedHave = (@(([string]$have) -split ',\s*' | Sort-Object) -join ',')
        $sortedWant = (@($want -split ',\s*' | Sort-Object) -join ',')
        if ($sortedHave -eq $sortedWant) { continue }
        if (-not $changes.Contains($name)) { $changes[$name] = [ordered]@{} }
        $changes[$name][$key] = $want
        $before["[$name] $key"] = $have
        $after["[$name] $key"] = $want
    }
}

if ($changes.Count -and $PSCmdlet.ShouldProcess(($after.Keys -join ', '), 'secedit /configure')) {
    $template = Join-Path $Ansible.Tmpdir 'wanted.inf'
    $lines = @('[Unicode]', 'Unicode=yes', '[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    foreach ($name in $changes.Keys) {
        $lines += "[$name]"
        foreach ($key in $changes[$name].Keys) { $lines += '{0} = {1}' -f $key, $changes[$name][$key] }
    }
    Set-Content -LiteralPath $template -Value $lines -Encoding Unicode
    $database = Join-Path $Ansible.Tmpdir 'wanted.sdb'
    & secedit.exe /configure /db $database /cfg $template /quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed with exit code $LASTEXITCODE" }
}

$Ansible.Changed = [bool]$changes.Count
$Ansible.Diff = @{ before = $before; after = $after }
