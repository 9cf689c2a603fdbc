# mtk-applier: registry
<#
.SYNOPSIS
    mt-eklient build applier: writes and removes the HKLM registry values of the change set.
.DESCRIPTION
    Changes: list of @{ item; before; after; key = 'HKLM\...'; name; type = dword|qword|string|
    expandstring|multistring|binary; data } (binary data as a hex string), or @{ item; before; after;
    key; name; remove = $true }. The controller decided each change from the collector's facts
    (mt_eklient.changeset); nothing is read or compared here. 64-bit registry view; the diff is the
    changes' before and after. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'
$Kinds = @{
    dword = 'DWord'; qword = 'QWord'; string = 'String'; expandstring = 'ExpandString'
    multistring = 'MultiString'; binary = 'Binary'
}
$Root = [Microsoft.Win32.RegistryKey]::OpenBaseKey('LocalMachine', 'Registry64')

function Get-MtkSubKey([string]$Key) {
    $hive, $path = $Key -split '\\', 2
    if ($hive -notin @('HKLM', 'HKEY_LOCAL_MACHINE', 'HKLM:')) { throw "only HKLM is managed, not '$Key'" }
    $path
}

function ConvertTo-MtkData([string]$Kind, $Data) {
    switch ($Kind) {
        'dword' { return [BitConverter]::ToInt32([BitConverter]::GetBytes([uint32][int64]$Data), 0) }
        'qword' { return [int64]$Data }
        'multistring' { return [string[]]@($Data | ForEach-Object { [string]$_ }) }
        'binary' {
            $text = [string]$Data
            return [byte[]]@(for ($i = 0; $i -lt $text.Length; $i += 2) { [Convert]::ToByte($text.Substring($i, 2), 16) })
        }
        default { return [string]$Data }
    }
}

$before = [ordered]@{}
$after = [ordered]@{}
foreach ($change in $Changes) {
    $before[[string]$change.item] = $change.before
    $after[[string]$change.item] = $change.after
    $label = '{0}\{1}' -f $change.key, $change.name
    if ($change.remove) {
        if ($PSCmdlet.ShouldProcess($label, 'remove')) {
            $handle = $Root.OpenSubKey((Get-MtkSubKey $change.key), $true)
            if ($handle) {
                try { $handle.DeleteValue([string]$change.name, $false) } finally { $handle.Close() }
            }
        }
        continue
    }
    $kind = [string]$change.type
    if (-not $Kinds.ContainsKey($kind)) { throw "unknown registry type '$kind' for $label" }
    $data = ConvertTo-MtkData $kind $change.data
    if ($PSCmdlet.ShouldProcess($label, "set $kind")) {
        $handle = $Root.CreateSubKey((Get-MtkSubKey $change.key))
        try { $handle.SetValue([string]$change.name, $data, [Microsoft.Win32.RegistryValueKind]$Kinds[$kind]) } finally { $handle.Close() }
    }
}

$Ansible.Changed = $Changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
