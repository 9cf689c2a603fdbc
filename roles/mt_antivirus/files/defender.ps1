# mtk-applier: defender
<#
.SYNOPSIS
    mt-eklient build applier: Microsoft Defender preferences and exclusions of the change set.
.DESCRIPTION
    Changes: list of @{ item; before; after; name = <Set-MpPreference parameter>; value } (one
    Set-MpPreference call for all of them) and @{ item; before; after; name = ExclusionPath|
    ExclusionProcess|ExclusionExtension; add = @(); remove = @() } (Remove-/Add-MpPreference, never
    the replace-all Set-MpPreference). The controller decided each change from the collector's facts
    (mt_eklient.changeset); nothing is read or compared here. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'
$ExclusionLists = @('ExclusionPath', 'ExclusionProcess', 'ExclusionExtension')

$before = [ordered]@{}
$after = [ordered]@{}
$set = @{}
foreach ($change in $Changes) {
    $name = [string]$change.name
    $before[[string]$change.item] = $change.before
    $after[[string]$change.item] = $change.after
    if ($name -notin $ExclusionLists) { $set[$name] = $change.value }
}
if ($set.Count -and $PSCmdlet.ShouldProcess(($set.Keys -join ', '), 'Set-MpPreference')) { Set-MpPreference @set }

foreach ($change in $Changes) {
    $name = [string]$change.name
    if ($name -notin $ExclusionLists) { continue }
    $remove = @($change.remove | ForEach-Object { [string]$_ })
    $add = @($change.add | ForEach-Object { [string]$_ })
    if ($remove.Count -and $PSCmdlet.ShouldProcess(($remove -join '; '), "Remove-MpPreference -$name")) {
        $arguments = @{ $name = $remove }
        Remove-MpPreference @arguments
    }
    if ($add.Count -and $PSCmdlet.ShouldProcess(($add -join '; '), "Add-MpPreference -$name")) {
        $arguments = @{ $name = $add }
        Add-MpPreference @arguments
    }
}

$Ansible.Changed = $Changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
