// IIS configurations written for these tests (not copied from a server): the shapes IIS 10
// writes to applicationHost.config and administration.config, with the cases an importer must
// get right. Site "Partners": isolation, IIS Manager users, nested <location> rules, allow/deny
// conflicts, roles, a UNC virtual directory with stored credentials, address rules (one by
// domain name), logon attempt restrictions, optional TLS. Site "Internal": anonymous, all users.
import type { IsolationMode } from '../../src/migrate/iis-config.ts';

export function applicationHost(o: { isolation?: IsolationMode } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- IIS configuration for the migration tests -->
<configuration>
  <configSections>
    <sectionGroup name="system.ftpServer" type="System.FtpServer.FtpServerSectionGroup" />
  </configSections>
  <system.applicationHost>
    <sites>
      <site name="Default Web Site" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" /></application>
        <bindings><binding protocol="http" bindingInformation="*:80:" /></bindings>
      </site>
      <site name="Partners" id="2" serverAutoStart="true">
        <application path="/" applicationPool="DefaultAppPool">
          <virtualDirectory path="/" physicalPath="D:\\ftp\\partners" />
          <virtualDirectory path="/archive" physicalPath="\\\\nas01\\archive" userName="NAS\\svc-ftp" password="[enc:IISCngProvider:c2VjcmV0:enc]" />
          <virtualDirectory path="/docs" physicalPath="E:\\shared\\docs" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="*:21:" />
          <binding protocol="ftp" bindingInformation="*:990:" />
        </bindings>
        <ftpServer serverAutoStart="true">
          <security>
            <ssl serverCertHash="5B2A9C0D11E3F5A7B9C1D3E5F7A9B1C3D5E7F9A1" controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication>
              <basicAuthentication enabled="true" defaultLogonDomain="FILES01" />
              <anonymousAuthentication enabled="false" />
              <customAuthentication>
                <providers>
                  <add name="IisManagerAuth" enabled="true" />
                  <add name="SqlMembership" enabled="true" />
                </providers>
              </customAuthentication>
            </authentication>
          </security>
          <userIsolation mode="${o.isolation ?? 'IsolateAllDirectories'}" />
          <messages bannerMessage="Contoso &amp; Partners FTP (Microsoft FTP Service)" greetingMessage="Welcome" suppressDefaultBanner="true" />
          <connections maxConnections="200" controlChannelTimeout="300" />
          <firewallSupport externalIp4Address="198.51.100.10" />
          <logFile directory="D:\\logs\\ftp" />
        </ftpServer>
      </site>
      <site name="Internal" id="3">
        <application path="/"><virtualDirectory path="/" physicalPath="D:\\ftp\\internal" /></application>
        <bindings><binding protocol="ftp" bindingInformation="10.0.0.5:2121:" /></bindings>
        <ftpServer>
          <security>
            <authentication>
              <anonymousAuthentication enabled="true" />
              <basicAuthentication enabled="true" />
            </authentication>
          </security>
          <userIsolation mode="None" />
        </ftpServer>
      </site>
      <siteDefaults>
        <ftpServer>
          <security><ssl controlChannelPolicy="SslRequire" dataChannelPolicy="SslRequire" /></security>
          <logFile directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />
        </ftpServer>
      </siteDefaults>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <firewallSupport lowDataChannelPort="50000" highDataChannelPort="50100" />
    <security>
      <authentication>
        <denyByFailure enabled="true" maxFailure="5" entryExpiration="00:10:00" loggingOnlyMode="false" />
      </authentication>
      <ipSecurity allowUnlisted="false" enableReverseDns="true">
        <add ipAddress="203.0.113.0" subnetMask="255.255.255.0" allowed="true" />
        <add ipAddress="127.0.0.1" allowed="true" />
        <add ipAddress="192.0.2.66" allowed="false" />
        <add domainName="partner.example" allowed="true" />
        <add ipAddress="198.51.100.0" subnetMask="255.0.255.0" allowed="true" />
      </ipSecurity>
      <authorization>
        <add accessType="Allow" users="administrator" permissions="Read, Write" />
      </authorization>
    </security>
  </system.ftpServer>
  <location path="Partners">
    <system.ftpServer>
      <security>
        <authorization>
          <clear />
          <add accessType="Allow" users="alice, FILES01\\bob" permissions="Read, Write" />
          <add accessType="Allow" users="carol" permissions="Read" />
          <add accessType="Allow" users="mgr1" permissions="Read, Write" />
          <add accessType="Allow" users="dave" permissions="Read, Write" />
          <add accessType="Deny" users="dave" permissions="Write" />
          <add accessType="Allow" users="erin" permissions="Write" />
          <add accessType="Allow" users="John Smith" permissions="Read" />
          <add accessType="Allow" users="frank" permissions="Read" />
          <add accessType="Deny" users="frank" permissions="Read" />
          <add accessType="Allow" roles="Auditors" permissions="Read" />
          <add accessType="Deny" roles="Contractors" permissions="Write" />
        </authorization>
      </security>
    </system.ftpServer>
  </location>
  <location path="Partners/incoming">
    <system.ftpServer>
      <security>
        <authorization>
          <add accessType="Allow" users="carol" permissions="Write" />
        </authorization>
        <ipSecurity allowUnlisted="false">
          <add ipAddress="203.0.113.7" allowed="true" />
        </ipSecurity>
      </security>
    </system.ftpServer>
  </location>
  <location path="Partners/incoming/secret">
    <system.ftpServer>
      <security>
        <authorization>
          <remove accessType="Allow" users="alice, FILES01\\bob" />
          <add accessType="Allow" users="FILES01\\bob" permissions="Read" />
        </authorization>
      </security>
      <directoryBrowse showFlags="DisplayVirtualDirectories" />
    </system.ftpServer>
  </location>
  <location path="Internal">
    <system.ftpServer>
      <security>
        <authorization>
          <add accessType="Allow" users="*" permissions="Read" />
          <add accessType="Allow" users="?" permissions="Read" />
        </authorization>
      </security>
    </system.ftpServer>
  </location>
</configuration>
`;
}

export const ADMINISTRATION_CONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.webServer>
    <management>
      <authentication defaultProvider="ConfigurationAuthenticationProvider">
        <credentials>
          <add name="mgr1" password="8E5D6B1F2A3C4D5E6F708192A3B4C5D6E7F80910" />
          <add name="mgr2" password="0A1B2C3D4E5F60718293A4B5C6D7E8F901234567" enabled="false" />
        </credentials>
        <providers>
          <add name="ConfigurationAuthenticationProvider" type="Microsoft.Web.Management.Server.ConfigurationAuthenticationProvider" />
        </providers>
      </authentication>
      <authorization>
        <authorizationRules scope="/Partners"><add name="mgr1" /></authorizationRules>
      </authorization>
    </management>
  </system.webServer>
</configuration>
`;

/** What `appcmd list site "Partners" /config /xml` prints: the site element only, wrapped. */
export const APPCMD_EXPORT = `<?xml version="1.0" encoding="UTF-8"?>
<appcmd>
    <SITE SITE.NAME="Partners" SITE.ID="2" bindings="ftp/*:21:" state="Started">
        <site name="Partners" id="2">
            <bindings><binding protocol="ftp" bindingInformation="*:21:" /></bindings>
            <application path="/"><virtualDirectory path="/" physicalPath="D:\\ftp\\partners" /></application>
            <ftpServer>
                <security>
                    <ssl controlChannelPolicy="SslRequire" dataChannelPolicy="SslRequire" />
                    <authentication><basicAuthentication enabled="true" /></authentication>
                </security>
                <userIsolation mode="IsolateRootDirectoryOnly" />
            </ftpServer>
        </site>
    </SITE>
</appcmd>
`;
