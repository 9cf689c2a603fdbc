# mtk-applier: applocker
<#
.SYNOPSIS
    mt-eklient build applier: replaces the local AppLocker policy with the given one.
.DESCRIPTION
    PolicyXml: the whole policy (mt_eklient.applocker.policy_xml). Rule ids are stable, so the policy
    is compared as collection enforcement modes plus rule ids; it is set (without -Merge) only when
    these differ. The Application Identity service is managed by the role. Idempotent; honours -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$PolicyXml
)
$ErrorActionPreference = 'Stop'

function Get-MtkPolicySignature([string]$Xml) {
    if (-not $Xml) { return @() }
    $document = [xml]$Xml
    @(foreach ($collection in $document.AppLockerPolicy.RuleCollection) {
            $ids = @($collection.ChildNodes | Where-Object { $_.Id } | ForEach-Object { ([string]$_.Id).ToLowerInvariant() } | Sort-Object)
            '{0}:{1}:{2}' -f $collection.Type, $collection.EnforcementMode, ($ids -join ',')
        }) | Where-Object { $_ -notmatch ':NotConfigured:$' } | Sort-Object
}

$currentXml = [string](Get-AppLockerPolicy -Local -Xml)
$have = @(Get-MtkPolicySignature $currentXml)
$want = @(Get-MtkPolicySignature $PolicyXml)
$changed = (($have -join "`n") -ne ($want -join "`n"))

if ($changed -and $PSCmdlet.ShouldProcess('local AppLocker policy', 'Set-AppLockerPolicy')) {
    $file = Join-Path $Ansible.Tmpdir 'applocker.xml'
    Set-Content -LiteralPath $file -Value $PolicyXml -Encoding UTF8
    Set-AppLockerPolicy -XmlPolicy $file
}

$Ansible.Changed = $changed
$Ansible.Diff = @{ before = ($have -join "`n"); after = ($want -join "`n") }
