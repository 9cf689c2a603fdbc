# mtk-applier: defender
<#
.SYNOPSIS
    mt-eklient build applier: Microsoft Defender preferences and EXACT exclusion lists.
.DESCRIPTION
    Preferences: @{ Name = value } for Set-MpPreference (only differing ones are set, in one call).
    Exclusions: @{ ExclusionPath = @(); ExclusionProcess = @(); ExclusionExtension = @() }: each list
    given is made exact; entries not in it are removed (Add-/Remove-MpPreference, never the
    replace-all Set-MpPreference). A list not given is left alone. Idempotent; honours -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [System.Collections.IDictionary]$Preferences = @{},
    [System.Collections.IDictionary]$Exclusions = @{}
)
$ErrorActionPreference = 'Stop'

function Format-MtkPreference($Value) {
    if ($null -eq $Value) { return '' }
    if ($Value -is [bool]) { return $Value.ToString().ToLowerInvariant() }
    if ($Value -is [datetime]) { return $Value.ToString('HH:mm', [Globalization.CultureInfo]::InvariantCulture) }
    if ($Value -is [timespan]) { return '{0:00}:{1:00}' -f $Value.Hours, $Value.Minutes }
    if ($Value -is [array]) { return (@($Value | ForEach-Object { [string]$_ } | Sort-Object) -join ';') }
    ([string]$Value).ToLowerInvariant()
}

try {
    $current = Get-MpPreference
} catch {
    throw "Microsoft Defender is not available on this host: $($_.Exception.Message)"
}

$changed = $false
$before = [ordered]@{}
$after = [ordered]@{}
$set = @{}
foreach ($name in $Preferences.Keys) {
    $want = $Preferences[$name]
    if ((Format-MtkPreference $current.$name) -eq (Format-MtkPreference $want)) { continue }
    $set[$name] = $want
    $before[$name] = Format-MtkPreference $current.$name
    $after[$name] = Format-MtkPreference $want
}
if ($set.Count) {
    $changed = $true
    if ($PSCmdlet.ShouldProcess(($set.Keys -join ', '), 'Set-MpPreference')) { Set-MpPreference @set }
}

foreach ($name in $Exclusions.Keys) {
    if ($name -notin @('ExclusionPath', 'ExclusionProcess', 'ExclusionExtension')) { throw "unknown exclusion list '$name'" }
    $want = @($Exclusions[$name] | ForEach-Object { [string]$_ })
    $have = @($current.$name | Where-Object { $_ } | ForEach-Object { [string]$_ })
    $add = @($want | Where-Object { $have -notcontains $_ })
    $remove = @($have | Where-Object { $want -notcontains $_ })
    if (-not ($add.Count -or $remove.Count)) { continue }
    $changed = $true
    $before[$name] = @($have | Sort-Object)
    $after[$name] = @($want | Sort-Object)
    if ($remove.Count -and $PSCmdlet.ShouldProcess(($remove -join '; '), "Remove-MpPreference -$name")) {
        $arguments = @{ $name = $remove }
        Remove-MpPreference @arguments
    }
    if ($add.Count -and $PSCmdlet.ShouldProcess(($add -join '; '), "Add-MpPreference -$name")) {
        $arguments = @{ $name = $add }
        Add-MpPreference @arguments
    }
}

$Ansible.Changed = $changed
$Ansible.Diff = @{ before = $before; after = $after }
