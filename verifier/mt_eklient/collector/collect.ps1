# mtk-collector
<#
.SYNOPSIS
    mt-eklient's read-only collector: reads everything the verifier needs in one Windows PowerShell
    5.1 run and writes ONE compressed JSON document (the facts document, validated by
    mt_eklient/schemas/facts.schema.json) to the success stream.

.DESCRIPTION
    It changes nothing on the host. The only things it writes are two uniquely named temporary files
    under the temp directory ("auditpol /backup" and "secedit /export" can only write to a file),
    each removed in a finally block. tests/test_powershell.py holds the command allow list.

    Request: a hashtable (ansible.windows.win_powershell "parameters"), a PSCustomObject, or the same
    as a JSON string; built by mt_eklient.collection.collection_request(). A missing key requests nothing.

        @{
            registry             = @(@('HKLM\SOFTWARE\Policies\...', 'ValueName'), ...)  # [key, name]; name '*' = every value;
                                   # [key, name, 'presence'] = whether it exists, never its data (secrets)
            services             = @('AppIDSvc', ...)        # service (short) names
            optional_features    = @('SMB1Protocol', ...)    # Get-WindowsOptionalFeature names
            local_groups         = @('S-1-5-32-544', ...)    # group SIDs
            firewall_rule_groups = @('mt-eklient', ...)      # rule groups (Group or DisplayGroup) reported in full
        }

    Always read: host, os, audit policy, security policy, firewall profiles and rules, Defender,
    AppLocker, WDAC, hotfixes, installed programs, SMB server, nameplate.

    Every section has its own try/catch: a failure leaves that section null and adds
    {section, message} to "errors", so one failing cmdlet never loses the rest.
#>
# SupportsShouldProcess only so that win_powershell also runs the collector in check mode; nothing
# here is gated by ShouldProcess because nothing here changes the host.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    $Request
)

$ErrorActionPreference = 'Stop'
$CollectorVersion = '0.1.0'
$Invariant = [Globalization.CultureInfo]::InvariantCulture

# Reading never changes the host. Guarded so the script also runs standalone.
if (Get-Variable -Name Ansible -ErrorAction SilentlyContinue) {
    $Ansible.Changed = $false
}

if ($Request -is [string]) {
    $Request = ConvertFrom-Json -InputObject $Request
}

function ConvertTo-MtkSnakeCase([string]$Text) {
    # 'Start Pending' -> start_pending, 'NotConfigured' -> not_configured, 'Auto' -> auto
    (($Text.Trim() -replace '[\s-]+', '_') -creplace '(?<=[a-z0-9])(?=[A-Z])', '_').ToLowerInvariant()
}

function ConvertTo-MtkScalar($Value) {
    # A JSON-safe scalar: primitives as they are, dates as UTC ISO 8601, anything else as a string.
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
    }
    if ($Value.GetType().IsPrimitive -and $Value -isnot [char]) { return $Value }
    return [string]$Value
}

function ConvertTo-MtkCimMap($Instance) {
    # Every CIM property of an instance; arrays stay arrays (built with @() so ConvertTo-Json in
    # Windows PowerShell 5.1 never wraps them as {"value": [...], "Count": n}).
    $map = [ordered]@{}
    foreach ($property in $Instance.CimInstanceProperties) {
        $value = $property.Value
        if ($value -is [array]) {
            $map[$property.Name] = @(foreach ($item in $value) { ConvertTo-MtkScalar $item })
        } else {
            $map[$property.Name] = ConvertTo-MtkScalar $value
        }
    }
    $map
}

function ConvertTo-MtkList($Value) {
    # Firewall filters say 'Any' for "no restriction": that becomes an empty list.
    foreach ($item in @($Value)) {
        $text = [string]$item
        if ($text -and $text -ne 'Any') { $text }
    }
}

function ConvertTo-MtkGpoBoolean($Value) {
    switch ([string]$Value) {
        'True' { $true }
        'False' { $false }
        default { 'not_configured' }
    }
}

function ConvertTo-MtkHex($Bytes) {
    -join @(foreach ($byte in @($Bytes -as [byte[]])) { if ($null -ne $byte) { $byte.ToString('x2') } })
}

function Get-MtkErrorEntry([string]$Section, $Record, [string]$Item = '') {
    # "Get-MpPreference: <message>"; a throw in this script's own body names no command.
    $message = [string]$Record.Exception.Message
    $command = $Record.InvocationInfo.MyCommand
    if ($command -and $command.Name -and $command.CommandType -ne 'ExternalScript') {
        $message = '{0}: {1}' -f $command.Name, $message
    }
    if ($Item) { $message = '{0}: {1}' -f $Item, $message }
    [ordered]@{ section = $Section; message = $message }
}

function Get-MtkRegistryKey([string]$Path) {
    # HKLM\... or HKU\..., opened read-only in the 64-bit view (no WOW64 redirection); $null if absent.
    $hive, $subPath = $Path -split '\\', 2
    $root = switch ($hive.TrimEnd(':').ToUpperInvariant()) {
        'HKLM' { [Microsoft.Win32.RegistryHive]::LocalMachine }
        'HKEY_LOCAL_MACHINE' { [Microsoft.Win32.RegistryHive]::LocalMachine }
        'HKU' { [Microsoft.Win32.RegistryHive]::Users }
        'HKEY_USERS' { [Microsoft.Win32.RegistryHive]::Users }
        default { throw "unsupported registry hive in '$Path'" }
    }
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey($root, [Microsoft.Win32.RegistryView]::Registry64)
    if (-not $subPath) { return $base }
    $base.OpenSubKey($subPath, $false)
}

function Get-MtkRegistryValue($Key, [string]$Name, [bool]$PresenceOnly) {
    # {type, value} of one value, $null when it does not exist. REG_EXPAND_SZ is not expanded,
    # REG_DWORD/REG_QWORD are unsigned, REG_BINARY and REG_NONE are lower-case hex.
    # $PresenceOnly (the request's [key, name, 'presence']): {type, present} and the data is never
    # read, for values that hold secrets such as Winlogon DefaultPassword.
    if ($Key.GetValueNames() -notcontains $Name) { return $null }
    $type = switch ($Key.GetValueKind($Name).ToString()) {
        'DWord' { 'REG_DWORD' }
        'QWord' { 'REG_QWORD' }
        'String' { 'REG_SZ' }
        'ExpandString' { 'REG_EXPAND_SZ' }
        'MultiString' { 'REG_MULTI_SZ' }
        'Binary' { 'REG_BINARY' }
        default { 'REG_NONE' }
    }
    if ($PresenceOnly) { return [ordered]@{ type = $type; present = $true } }
    $raw = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    $value = switch ($type) {
        'REG_DWORD' { [BitConverter]::ToUInt32([BitConverter]::GetBytes([int32]$raw), 0) }
        'REG_QWORD' { [BitConverter]::ToUInt64([BitConverter]::GetBytes([int64]$raw), 0) }
        'REG_MULTI_SZ' { , @(foreach ($line in $raw) { [string]$line }) }
        { $_ -in 'REG_SZ', 'REG_EXPAND_SZ' } { [string]$raw }
        default { ConvertTo-MtkHex $raw }
    }
    [ordered]@{ type = $type; value = $value }
}

$problems = @()
$facts = [ordered]@{
    schema_version    = 1
    collector         = [ordered]@{ name = 'mt-eklient'; version = $CollectorVersion }
    collected_at      = [datetime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
    host              = [ordered]@{ computer_name = $env:COMPUTERNAME; domain = $null; part_of_domain = $null; local_time = $null }
    os                = $null
    registry          = $null
    audit_policy      = $null
    security_policy   = $null
    services          = $null
    firewall          = [ordered]@{ profiles = $null; rules = $null }
    defender          = $null
    applocker         = $null
    wdac              = $null
    hotfixes          = $null
    programs          = $null
    local_groups      = $null
    optional_features = $null
    smb               = $null
    nameplate         = $null
    errors            = @()
}

# --- host ---------------------------------------------------------------------------------------
try {
    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    $facts['host'] = [ordered]@{
        computer_name  = [string]$system.Name
        domain         = [string]$system.Domain
        part_of_domain = [bool]$system.PartOfDomain
        # The host's wall clock: maintenance windows are in the host's local time.
        local_time     = [datetime]::Now.ToString("yyyy-MM-dd'T'HH:mm:ss", $Invariant)
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'host' $_)
}

# --- os: never trust ProductName alone (LTSC 2024 still says "Windows 10") -------------------------
try {
    $currentVersion = Get-MtkRegistryKey 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $operatingSystem = Get-CimInstance -ClassName Win32_OperatingSystem
    $displayVersion = $currentVersion.GetValue('DisplayVersion')
    if (-not $displayVersion) { $displayVersion = $currentVersion.GetValue('ReleaseId') }  # 2016/2019 have no DisplayVersion
    $installDate = $null
    $epoch = $currentVersion.GetValue('InstallDate')
    if ($null -ne $epoch) {
        $installDate = [datetime]::new(1970, 1, 1, 0, 0, 0, [DateTimeKind]::Utc).AddSeconds([double]$epoch).ToString('yyyy-MM-dd', $Invariant)
    }
    $ubr = $currentVersion.GetValue('UBR')
    $architecture = '32-bit'
    if ([Environment]::Is64BitOperatingSystem) { $architecture = '64-bit' }
    $facts['os'] = [ordered]@{
        edition_id      = [string]$currentVersion.GetValue('EditionID')
        current_build   = [int]$currentVersion.GetValue('CurrentBuild')
        ubr             = ConvertTo-MtkScalar $ubr
        product_name    = [string]$currentVersion.GetValue('ProductName')
        display_version = ConvertTo-MtkScalar $displayVersion
        install_date    = $installDate
        sku             = ConvertTo-MtkScalar $operatingSystem.OperatingSystemSKU
        architecture    = $architecture
    }
    $currentVersion.Close()
} catch {
    $problems += , (Get-MtkErrorEntry 'os' $_)
}

# --- registry: every requested key appears; {} when the key does not exist, null when unreadable ---
try {
    $wanted = [ordered]@{}
    $presenceOnly = @{}
    foreach ($pair in $Request.registry) {
        $keyPath = [string]$pair[0]
        if (-not $wanted.Contains($keyPath)) { $wanted[$keyPath] = @() }
        $wanted[$keyPath] += [string]$pair[1]
        if (@($pair).Count -gt 2 -and [string]$pair[2] -eq 'presence') { $presenceOnly[$keyPath + '\' + $pair[1]] = $true }
    }
    $facts['registry'] = [ordered]@{}
    foreach ($keyPath in @($wanted.Keys)) {
        try {
            $values = [ordered]@{}
            $key = Get-MtkRegistryKey $keyPath
            if ($null -ne $key) {
                $names = $wanted[$keyPath]
                if ($names -contains '*') { $names = @(foreach ($name in $key.GetValueNames()) { if ($name) { [string]$name } }) }
                foreach ($name in $names) {
                    $entry = Get-MtkRegistryValue $key $name ($presenceOnly.ContainsKey($keyPath + '\' + $name))
                    if ($null -ne $entry) { $values[$name] = $entry }
                }
                $key.Close()
            }
            $facts['registry'][$keyPath] = $values
        } catch {
            $facts['registry'][$keyPath] = $null
            $problems += , (Get-MtkErrorEntry 'registry' $_ $keyPath)
        }
    }
} catch {
    $facts['registry'] = $null
    $problems += , (Get-MtkErrorEntry 'registry' $_)
}

# --- audit_policy, keyed by subcategory GUID ------------------------------------------------------
# Not "auditpol /get /r": its "Inclusion Setting" column is translated ("Lyckade och misslyckade" on
# Swedish Windows), so reading it needs a table per language. "auditpol /backup" writes the same
# policy with a numeric "Setting Value" (0 none, 1 success, 2 failure, 3 both). Columns are read by
# position, so the header's language does not matter either; subcategory names are never used.
try {
    $tempFile = Join-Path ([IO.Path]::GetTempPath()) ('mtk-audit-{0}.csv' -f [guid]::NewGuid())
    try {
        & auditpol.exe /backup "/file:$tempFile" | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "auditpol /backup exited with $LASTEXITCODE" }
        $settingNames = 'no_auditing', 'success', 'failure', 'success_and_failure'
        $audit = [ordered]@{}
        $rows = Get-Content -LiteralPath $tempFile | ConvertFrom-Csv -Header 'machine', 'target', 'subcategory', 'guid', 'inclusion', 'exclusion', 'value'
        foreach ($row in $rows) {
            $guid = ([string]$row.guid).Trim().ToLowerInvariant()
            $setting = ([string]$row.value).Trim()
            if ($guid -notmatch '^\{[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\}$' -or $setting -notmatch '^\d+$') { continue }
            # System-wide rows win over per-user rows of the same subcategory.
            if ([string]$row.target -eq 'System' -or -not $audit.Contains($guid)) {
                $audit[$guid] = $settingNames[[int]$setting -band 3]
            }
        }
        $facts['audit_policy'] = $audit
    } finally {
        Remove-Item -LiteralPath $tempFile -Force -ErrorAction SilentlyContinue -WhatIf:$false
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'audit_policy' $_)
}

# --- security_policy: one secedit export, [section][key]; Privilege Rights as lists ----------------
try {
    $tempFile = Join-Path ([IO.Path]::GetTempPath()) ('mtk-secpol-{0}.inf' -f [guid]::NewGuid())
    try {
        & secedit.exe /export /cfg $tempFile /areas SECURITYPOLICY USER_RIGHTS | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "secedit /export exited with $LASTEXITCODE" }
        $policy = [ordered]@{}
        $section = ''
        foreach ($line in Get-Content -LiteralPath $tempFile) {
            $text = ([string]$line).Trim()
            if ($text -match '^\[(.+)\]$') {
                $section = $Matches[1]
                if ($section -notin 'Unicode', 'Version' -and -not $policy.Contains($section)) {
                    $policy[$section] = [ordered]@{}
                }
                continue
            }
            if (-not $policy.Contains($section) -or $text -notmatch '^([^=]+?)\s*=\s*(.*)$') { continue }
            $name = $Matches[1]
            $raw = $Matches[2]
            if ($section -eq 'Privilege Rights') {
                $value = @(foreach ($part in $raw -split ',') { if ($part.Trim()) { $part.Trim() } })
            } elseif ($raw -match '^-?\d+$') {
                $value = [long]$raw
            } elseif ($raw -match '^"(.*)"$') {
                $value = $Matches[1]
            } else {
                $value = $raw
            }
            $policy[$section][$name] = $value
        }
        $facts['security_policy'] = $policy
    } finally {
        Remove-Item -LiteralPath $tempFile -Force -ErrorAction SilentlyContinue -WhatIf:$false
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'security_policy' $_)
}

# --- services: null for a requested service that is not installed ---------------------------------
try {
    $services = [ordered]@{}
    $requested = @(foreach ($name in $Request.services) { [string]$name })
    if ($requested.Count -gt 0) {
        $installed = @{}
        foreach ($service in Get-CimInstance -ClassName Win32_Service) { $installed[[string]$service.Name] = $service }
        foreach ($name in $requested) {
            $service = $installed[$name]
            $services[$name] = $null
            if ($null -ne $service) {
                $services[$name] = [ordered]@{
                    start_mode = ConvertTo-MtkSnakeCase $service.StartMode
                    state      = ConvertTo-MtkSnakeCase $service.State
                }
            }
        }
    }
    $facts['services'] = $services
} catch {
    $problems += , (Get-MtkErrorEntry 'services' $_)
}

# --- firewall: the effective (ActiveStore) view, which includes rules pushed by group policy -------
try {
    $profiles = [ordered]@{}
    foreach ($firewallProfile in Get-NetFirewallProfile -PolicyStore ActiveStore) {
        $profiles[[string]$firewallProfile.Name] = [ordered]@{
            enabled                    = ConvertTo-MtkGpoBoolean $firewallProfile.Enabled
            default_inbound_action     = ConvertTo-MtkSnakeCase $firewallProfile.DefaultInboundAction
            default_outbound_action    = ConvertTo-MtkSnakeCase $firewallProfile.DefaultOutboundAction
            allow_local_firewall_rules = ConvertTo-MtkGpoBoolean $firewallProfile.AllowLocalFirewallRules
            log_allowed                = ConvertTo-MtkGpoBoolean $firewallProfile.LogAllowed
            log_blocked                = ConvertTo-MtkGpoBoolean $firewallProfile.LogBlocked
        }
    }
    $facts['firewall']['profiles'] = $profiles
} catch {
    $problems += , (Get-MtkErrorEntry 'firewall' $_)
}

# Rules: all are read, but only these are reported, to keep the document bounded: every rule of a
# requested group (enabled or not, any direction) and every enabled allow rule (what is open).
# Filters are read in bulk and joined on InstanceID: one query per filter type, not one per rule.
try {
    $ruleGroups = @(foreach ($group in $Request.firewall_rule_groups) { [string]$group })
    $portFilters = @{}
    foreach ($filter in Get-NetFirewallPortFilter -PolicyStore ActiveStore) { $portFilters[[string]$filter.InstanceID] = $filter }
    $addressFilters = @{}
    foreach ($filter in Get-NetFirewallAddressFilter -PolicyStore ActiveStore) { $addressFilters[[string]$filter.InstanceID] = $filter }
    $applicationFilters = @{}
    foreach ($filter in Get-NetFirewallApplicationFilter -PolicyStore ActiveStore) { $applicationFilters[[string]$filter.InstanceID] = $filter }
    $facts['firewall']['rules'] = @(foreach ($rule in Get-NetFirewallRule -PolicyStore ActiveStore) {
            $enabled = [string]$rule.Enabled -eq 'True'
            $direction = 'out'
            if ([string]$rule.Direction -eq 'Inbound') { $direction = 'in' }
            $action = ConvertTo-MtkSnakeCase $rule.Action
            $inGroup = ($rule.Group -and $ruleGroups -contains [string]$rule.Group) -or
                ($rule.DisplayGroup -and $ruleGroups -contains [string]$rule.DisplayGroup)
            if (-not ($inGroup -or ($enabled -and $action -eq 'allow'))) { continue }
            $id = [string]$rule.Name
            $ports = $portFilters[$id]
            $protocol = 'any'
            if ($ports -and $ports.Protocol) { $protocol = ([string]$ports.Protocol).ToLowerInvariant() }
            $program = $null
            $application = $applicationFilters[$id]
            if ($application -and $application.Program -and [string]$application.Program -ne 'Any') { $program = [string]$application.Program }
            $group = $null
            if ($rule.Group) { $group = [string]$rule.Group }
            $ruleProfiles = @('Domain', 'Private', 'Public')
            if ([string]$rule.Profile -and [string]$rule.Profile -ne 'Any') {
                $ruleProfiles = @(foreach ($name in ([string]$rule.Profile -split ',\s*')) { $name })
            }
            [ordered]@{
                name             = $id
                display_name     = [string]$rule.DisplayName
                group            = $group
                direction        = $direction
                action           = $action
                enabled          = $enabled
                protocol         = $protocol
                local_ports      = @(ConvertTo-MtkList $ports.LocalPort)
                remote_ports     = @(ConvertTo-MtkList $ports.RemotePort)
                remote_addresses = @(ConvertTo-MtkList $addressFilters[$id].RemoteAddress)
                program          = $program
                profiles         = $ruleProfiles
            }
        })
} catch {
    $problems += , (Get-MtkErrorEntry 'firewall' $_)
}

# --- defender: present=false when the Defender cmdlets do not exist --------------------------------
try {
    $defender = [ordered]@{ present = $false; preferences = $null; status = $null }
    if (Get-Command -Name Get-MpPreference -ErrorAction SilentlyContinue) {
        $defender['present'] = $true
        try {
            $rawPreferences = Get-MpPreference
            $preferences = ConvertTo-MtkCimMap $rawPreferences
            foreach ($name in 'ExclusionPath', 'ExclusionProcess', 'ExclusionExtension', 'ExclusionIpAddress') {
                if ($null -eq $preferences[$name]) { $preferences[$name] = @() }
            }
            # Scan start times are local times of day: keep the profile's HH:mm form, not a UTC date.
            foreach ($name in 'ScanScheduleTime', 'ScanScheduleQuickScanTime') {
                $value = $rawPreferences.$name
                if ($value -is [datetime]) { $preferences[$name] = $value.ToString('HH:mm', $Invariant) }
                elseif ($value -is [timespan]) { $preferences[$name] = '{0:hh\:mm}' -f $value }
            }
            $defender['preferences'] = $preferences
        } catch {
            $problems += , (Get-MtkErrorEntry 'defender' $_)
        }
        try {
            $defender['status'] = ConvertTo-MtkCimMap (Get-MpComputerStatus)
        } catch {
            $problems += , (Get-MtkErrorEntry 'defender' $_)
        }
    }
    $facts['defender'] = $defender
} catch {
    $problems += , (Get-MtkErrorEntry 'defender' $_)
}

# --- applocker: effective policy per rule collection, and the Application Identity service ---------
try {
    $policyXml = [string](Get-AppLockerPolicy -Effective -Xml)
    $collections = [ordered]@{}
    foreach ($type in 'Appx', 'Dll', 'Exe', 'Msi', 'Script') {
        $collections[$type] = [ordered]@{ mode = 'NotConfigured'; rule_count = 0 }
    }
    if ($policyXml.Trim()) {
        foreach ($collection in ([xml]$policyXml).AppLockerPolicy.RuleCollection) {
            $mode = [string]$collection.EnforcementMode
            if (-not $mode) { $mode = 'NotConfigured' }
            $rules = @(foreach ($node in $collection.ChildNodes) { if ($node.LocalName -like '*Rule') { $node } })
            $collections[[string]$collection.Type] = [ordered]@{ mode = $mode; rule_count = $rules.Count }
        }
    }
    $serviceState = $null
    $appIdService = Get-CimInstance -ClassName Win32_Service -Filter "Name='AppIDSvc'"
    if ($appIdService) { $serviceState = ConvertTo-MtkSnakeCase $appIdService.State }
    $facts['applocker'] = [ordered]@{ service_state = $serviceState; collections = $collections; policy_xml = $policyXml }
} catch {
    $problems += , (Get-MtkErrorEntry 'applocker' $_)
}

# --- wdac: 0 off, 1 audit, 2 enforced ---------------------------------------------------------------
try {
    $deviceGuard = Get-CimInstance -Namespace 'root\Microsoft\Windows\DeviceGuard' -ClassName Win32_DeviceGuard
    $facts['wdac'] = [ordered]@{
        code_integrity                = ConvertTo-MtkScalar $deviceGuard.CodeIntegrityPolicyEnforcementStatus
        usermode_code_integrity       = ConvertTo-MtkScalar $deviceGuard.UsermodeCodeIntegrityPolicyEnforcementStatus
        virtualization_based_security = ConvertTo-MtkScalar $deviceGuard.VirtualizationBasedSecurityStatus
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'wdac' $_)
}

# --- hotfixes: KB ids only; installed_on may be unknown ---------------------------------------------
try {
    $facts['hotfixes'] = @(foreach ($fix in Get-HotFix) {
            $id = ([string]$fix.HotFixID).Trim().ToUpperInvariant()
            if ($id -notmatch '^KB\d+$') { continue }
            $installedOn = $null
            try {
                if ($fix.InstalledOn) { $installedOn = ([datetime]$fix.InstalledOn).ToString('yyyy-MM-dd', $Invariant) }
            } catch {
                $installedOn = $null
            }
            [ordered]@{ id = $id; installed_on = $installedOn }
        })
} catch {
    $problems += , (Get-MtkErrorEntry 'hotfixes' $_)
}

# --- programs: the Uninstall keys, 64- and 32-bit. Never Win32_Product (slow, triggers MSI repair) ---
try {
    $uninstallKeys = 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
    'HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    $facts['programs'] = @(foreach ($path in $uninstallKeys) {
            $uninstall = Get-MtkRegistryKey $path
            if ($null -eq $uninstall) { continue }
            foreach ($subName in $uninstall.GetSubKeyNames()) {
                $entry = $uninstall.OpenSubKey($subName, $false)
                if ($null -eq $entry) { continue }
                $displayName = [string]$entry.GetValue('DisplayName')
                if ($displayName) {
                    [ordered]@{
                        name             = $displayName
                        version          = ConvertTo-MtkScalar $entry.GetValue('DisplayVersion')
                        publisher        = ConvertTo-MtkScalar $entry.GetValue('Publisher')
                        install_location = ConvertTo-MtkScalar $entry.GetValue('InstallLocation')
                        key              = [string]$subName
                    }
                }
                $entry.Close()
            }
            $uninstall.Close()
        })
} catch {
    $problems += , (Get-MtkErrorEntry 'programs' $_)
}

# --- local_groups by SID, members by SID ---------------------------------------------------------
# [ADSI] rather than Get-LocalGroupMember: the latter fails on the whole group when one member is an
# orphaned SID (a deleted domain account), which is common on long-lived clinical clients.
try {
    $groups = [ordered]@{}
    foreach ($sid in @(foreach ($item in $Request.local_groups) { [string]$item })) {
        try {
            $groupName = [Security.Principal.SecurityIdentifier]::new($sid).Translate([Security.Principal.NTAccount]).Value.Split('\')[-1]
            $group = [ADSI]"WinNT://$env:COMPUTERNAME/$groupName,group"
            $members = @(foreach ($member in @($group.Invoke('Members'))) {
                    $memberType = $member.GetType()
                    $sidBytes = [byte[]]$memberType.InvokeMember('objectSid', 'GetProperty', $null, $member, $null)
                    $adsPath = [string]$memberType.InvokeMember('ADsPath', 'GetProperty', $null, $member, $null)
                    $parts = ($adsPath -replace '^WinNT://', '') -split '/'
                    [ordered]@{
                        sid  = [Security.Principal.SecurityIdentifier]::new($sidBytes, 0).Value
                        name = ($parts | Select-Object -Last 2) -join '\'
                    }
                })
            $groups[$sid] = [ordered]@{ name = $groupName; members = $members }
        } catch {
            $groups[$sid] = $null
            $problems += , (Get-MtkErrorEntry 'local_groups' $_ $sid)
        }
    }
    $facts['local_groups'] = $groups
} catch {
    $problems += , (Get-MtkErrorEntry 'local_groups' $_)
}

# --- optional_features: one listing, 'absent' for a feature this Windows does not have -------------
try {
    $features = [ordered]@{}
    $requested = @(foreach ($name in $Request.optional_features) { [string]$name })
    if ($requested.Count -gt 0) {
        $states = @{}
        foreach ($feature in Get-WindowsOptionalFeature -Online) { $states[[string]$feature.FeatureName] = [string]$feature.State }
        foreach ($name in $requested) {
            $features[$name] = 'absent'
            if ($states.ContainsKey($name)) { $features[$name] = ConvertTo-MtkSnakeCase $states[$name] }
        }
    }
    $facts['optional_features'] = $features
} catch {
    $problems += , (Get-MtkErrorEntry 'optional_features' $_)
}

# --- smb server -----------------------------------------------------------------------------------
try {
    $smb = Get-SmbServerConfiguration
    $facts['smb'] = [ordered]@{
        server_smb1                = [bool]$smb.EnableSMB1Protocol
        server_smb2                = [bool]$smb.EnableSMB2Protocol
        require_security_signature = [bool]$smb.RequireSecuritySignature
        encrypt_data               = [bool]$smb.EncryptData
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'smb' $_)
}

# --- nameplate: the build's record on the host; null when absent (W and M computers have none) ----
try {
    $nameplateKey = Get-MtkRegistryKey 'HKLM\SOFTWARE\mt-eklient\Nameplate'
    if ($null -ne $nameplateKey) {
        $nameplate = [ordered]@{}
        foreach ($name in $nameplateKey.GetValueNames()) {
            if ($name) { $nameplate[(ConvertTo-MtkSnakeCase $name)] = (Get-MtkRegistryValue $nameplateKey $name)['value'] }
        }
        $nameplateKey.Close()
        $facts['nameplate'] = $nameplate
    }
} catch {
    $problems += , (Get-MtkErrorEntry 'nameplate' $_)
}

$facts['errors'] = $problems
ConvertTo-Json -InputObject $facts -Depth 8 -Compress
