package handover.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyDef;
import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.ArrayList;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * The index of Apicurio's runtime-changeable ("dynamic") settings. Apicurio builds it at build time
 * in apicurio-common-app-components-config-index-deployment, a Quarkus extension Maven Central does
 * not serve here; without this bean the application does not build. An empty index means no setting
 * can be changed through the admin API at runtime; every setting still comes from the command line
 * and environment as usual, and nothing the Confluent API uses depends on it.
 */
public class DynamicConfigIndex {
    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(new ArrayList<DynamicConfigPropertyDef>());
    }
}
