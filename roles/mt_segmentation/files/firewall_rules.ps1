# mtk-applier: firewall_rules
<#
.SYNOPSIS
    mt-eklient build applier: makes one firewall rule group exactly the given rules.
.DESCRIPTION
    Rules (facts format: name, display_name, group, direction, action, enabled, protocol, local_ports,
    remote_ports, remote_addresses, program, profiles) are matched on their name, or on their display
    name for a rule another tool created (community.windows.win_firewall_rule gives rules a GUID name).
    Missing rules are created and differing ones corrected BEFORE rules not in the list are removed,
    so the management (WinRM) rule is never absent. Idempotent; honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$Group,
    [object[]]$Rules = @()
)
$ErrorActionPreference = 'Stop'

function ConvertTo-MtkAddress([string]$Text) {
    # Windows reports 10.20.0.0/255.255.255.0; the facts format is 10.20.0.0/24.
    if ($Text -match '^([\d.]+)/([\d.]+)$') {
        $bits = -join @(foreach ($octet in $Matches[2].Split('.')) { [Convert]::ToString([int]$octet, 2) })
        return '{0}/{1}' -f $Matches[1], ($bits.ToCharArray() | Where-Object { $_ -eq '1' }).Count
    }
    $Text
}

function Get-MtkRuleRecord($Rule) {
    $ports = $Rule | Get-NetFirewallPortFilter
    $addresses = $Rule | Get-NetFirewallAddressFilter
    $application = $Rule | Get-NetFirewallApplicationFilter
    $profiles = @([string]$Rule.Profile -split ',\s*' | Where-Object { $_ })
    if ($profiles -contains 'Any') { $profiles = @('Domain', 'Private', 'Public') }
    $program = [string]$application.Program
    if ($program -eq 'Any') { $program = '' }
    [ordered]@{
        name             = [string]$Rule.Name
        display_name     = [string]$Rule.DisplayName
        direction        = @{ Inbound = 'in'; Outbound = 'out' }[[string]$Rule.Direction]
        action           = ([string]$Rule.Action).ToLowerInvariant()
        enabled          = ([string]$Rule.Enabled -eq 'True')
        protocol         = ([string]$ports.Protocol).ToLowerInvariant()
        local_ports      = @($ports.LocalPort | Where-Object { $_ -ne 'Any' } | Sort-Object)
        remote_ports     = @($ports.RemotePort | Where-Object { $_ -ne 'Any' } | Sort-Object)
        remote_addresses = @($addresses.RemoteAddress | Where-Object { $_ -ne 'Any' } | ForEach-Object { ConvertTo-MtkAddress $_ } | Sort-Object)
        program          = $program
        profiles         = @($profiles | Sort-Object)
    }
}

function Get-MtkWanted($Rule) {
    [ordered]@{
        name             = [string]$Rule.name
        display_name     = [string]$Rule.display_name
        direction        = [string]$Rule.direction
        action           = [string]$Rule.action
        enabled          = [bool]$Rule.enabled
        protocol         = [string]$Rule.protocol
        local_ports      = @($Rule.local_ports | ForEach-Object { [string]$_ } | Sort-Object)
        remote_ports     = @($Rule.remote_ports | ForEach-Object { [string]$_ } | Sort-Object)
        remote_addresses = @($Rule.remote_addresses | ForEach-Object { [string]$_ } | Sort-Object)
        program          = [string]$Rule.program
        profiles         = @($Rule.profiles | ForEach-Object { [string]$_ } | Sort-Object)
    }
}

function Get-MtkSettings($Wanted, $Current) {
    # Set-NetFirewallRule changes only the parameters it is given: every filter is passed, 'Any'
    # where the rule has no restriction, or an old port, address or program would stay.
    # DisplayName is not here: New-NetFirewallRule takes -DisplayName, Set-NetFirewallRule (ByName
    # set) renames with -NewDisplayName.
    $settings = @{
        Direction     = @{ in = 'Inbound'; out = 'Outbound' }[$Wanted.direction]
        Action        = @{ allow = 'Allow'; block = 'Block' }[$Wanted.action]
        Enabled       = @{ $true = 'True'; $false = 'False' }[$Wanted.enabled]
        Protocol      = $Wanted.protocol
        Profile       = $Wanted.profiles -join ','
        RemoteAddress = @('Any')
    }
    if ($Wanted.protocol -eq 'any') { $settings.Protocol = 'Any' }
    if ($Wanted.remote_addresses.Count) { $settings.RemoteAddress = $Wanted.remote_addresses }
    if ($Wanted.program) { $settings.Program = $Wanted.program }
    elseif ($Current) { $settings.Program = 'Any' }
    # Ports exist only for TCP and UDP; an old rule's ports are cleared when the protocol changes.
    $hadPorts = $Current -and ($Current.local_ports.Count -or $Current.remote_ports.Count)
    if ($Wanted.protocol -in @('tcp', 'udp') -or $hadPorts) {
        $settings.LocalPort = @('Any')
        $settings.RemotePort = @('Any')
        if ($Wanted.local_ports.Count) { $settings.LocalPort = $Wanted.local_ports }
        if ($Wanted.remote_ports.Count) { $settings.RemotePort = $Wanted.remote_ports }
    }
    $settings
}

$existing = @(Get-NetFirewallRule -PolicyStore PersistentStore -ErrorAction SilentlyContinue |
        Where-Object { $_.Group -eq $Group } | ForEach-Object { Get-MtkRuleRecord $_ })
$before = @($existing | Sort-Object { $_.name })
$after = @()
$keep = @{}
$changed = $false

foreach ($rule in $Rules) {
    $wanted = Get-MtkWanted $rule
    $after += $wanted
    $current = $existing | Where-Object { $_.name -eq $wanted.name } | Select-Object -First 1
    if (-not $current) {
        $current = $existing | Where-Object { $_.display_name -eq $wanted.display_name } | Select-Object -First 1
    }
    if ($current -and $current.name -eq $wanted.name) {
        $keep[$current.name] = $true
        $same = (ConvertTo-Json $current -Compress) -eq (ConvertTo-Json $wanted -Compress)
        if (-not $same) {
            $changed = $true
            if ($PSCmdlet.ShouldProcess($wanted.name, 'Set-NetFirewallRule')) {
                $settings = Get-MtkSettings $wanted $current
                Set-NetFirewallRule -Name $wanted.name -NewDisplayName $wanted.display_name @settings
            }
        }
        continue
    }
    # Missing, or created by another tool under a GUID name: create it under its own name first;
    # the other copy is removed below, after every wanted rule exists.
    $changed = $true
    if ($PSCmdlet.ShouldProcess($wanted.name, 'New-NetFirewallRule')) {
        $settings = Get-MtkSettings $wanted $null
        New-NetFirewallRule -Name $wanted.name -DisplayName $wanted.display_name -Group $Group @settings | Out-Null
    }
}

foreach ($rule in $existing) {
    if ($keep.ContainsKey($rule.name)) { continue }
    $changed = $true
    if ($PSCmdlet.ShouldProcess($rule.name, 'Remove-NetFirewallRule')) {
        Remove-NetFirewallRule -Name $rule.name
    }
}

$Ansible.Changed = $changed
$Ansible.Diff = @{ before = @{ group = $Group; rules = $before }; after = @{ group = $Group; rules = @($after | Sort-Object { $_.name }) } }
