# mtk-applier: registry
<#
.SYNOPSIS
    mt-eklient build applier: sets and removes HKLM registry values, all in one call.
.DESCRIPTION
    Values: list of @{ key = 'HKLM\...'; name; type = dword|qword|string|expandstring|multistring|binary;
    data } (binary data as a hex string). RemoveValues: list of @{ key; name } that must not exist.
    ExactKeys: list of @{ key; type; values = @{ name = data } }: the key ends up with exactly these
    values (all of one type); every other value under it is removed, subkeys are left alone.
    Writes only what differs (value or kind), in the 64-bit registry view; the diff lists only the
    values that change. Idempotent; honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Values = @(),
    [object[]]$RemoveValues = @(),
    [object[]]$ExactKeys = @()
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

function Get-MtkCurrent([string]$Key, [string]$Name) {
    $handle = $Root.OpenSubKey((Get-MtkSubKey $Key), $false)
    if ($null -eq $handle) { return $null }
    try {
        if ($handle.GetValueNames() -notcontains $Name) { return $null }
        @{
            kind = [string]$handle.GetValueKind($Name)
            data = $handle.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
        }
    } finally {
        $handle.Close()
    }
}

function Format-MtkData($Data) {
    if ($null -eq $Data) { return $null }
    if ($Data -is [byte[]]) { return -join @($Data | ForEach-Object { $_.ToString('x2') }) }
    if ($Data -is [array]) { return @($Data | ForEach-Object { [string]$_ }) -join "`n" }
    [string]$Data
}

# An exact key is its listed values to write plus a removal of every other value it holds now.
foreach ($exact in $ExactKeys) {
    $wanted = $exact['values']  # the entry 'values', not the hashtable's Values property
    if ($wanted -isnot [Collections.IDictionary]) { throw "ExactKeys: values of $($exact.key) must be a mapping" }
    $listed = @{}
    foreach ($entry in $wanted.GetEnumerator()) {
        $listed[[string]$entry.Key] = $true
        $Values += , @{ key = $exact.key; name = [string]$entry.Key; type = $exact.type; data = $entry.Value }
    }
    $handle = $Root.OpenSubKey((Get-MtkSubKey $exact.key), $false)
    if ($null -eq $handle) { continue }
    try { $present = $handle.GetValueNames() } finally { $handle.Close() }
    foreach ($name in $present) {
        if (-not $listed.ContainsKey($name)) { $RemoveValues += , @{ key = $exact.key; name = $name } }
    }
}

$changed = $false
$before = [ordered]@{}
$after = [ordered]@{}

foreach ($value in $Values) {
    $kind = [string]$value.type
    if (-not $Kinds.ContainsKey($kind)) { throw "unknown registry type '$kind' for $($value.key)\$($value.name)" }
    $label = '{0}\{1}' -f $value.key, $value.name
    $data = ConvertTo-MtkData $kind $value.data
    $current = Get-MtkCurrent $value.key $value.name
    if ($current -and $current.kind -eq $Kinds[$kind] -and (Format-MtkData $current.data) -ceq (Format-MtkData $data)) {
        continue
    }
    $changed = $true
    $before[$label] = if ($current) { Format-MtkData $current.data } else { $null }
    $after[$label] = Format-MtkData $data
    if ($PSCmdlet.ShouldProcess($label, "set $kind")) {
        $handle = $Root.CreateSubKey((Get-MtkSubKey $value.key))
        try { $handle.SetValue([string]$value.name, $data, [Microsoft.Win32.RegistryValueKind]$Kinds[$kind]) } finally { $handle.Close() }
    }
}

foreach ($value in $RemoveValues) {
    $label = '{0}\{1}' -f $value.key, $value.name
    $current = Get-MtkCurrent $value.key $value.name
    if ($null -eq $current) { continue }
    $changed = $true
    $before[$label] = Format-MtkData $current.data
    $after[$label] = $null
    if ($PSCmdlet.ShouldProcess($label, 'remove')) {
        $handle = $Root.OpenSubKey((Get-MtkSubKey $value.key), $true)
        try { $handle.DeleteValue([string]$value.name, $false) } finally { $handle.Close() }
    }
}

$Ansible.Changed = $changed
$Ansible.Diff = @{ before = $before; after = $after }
